# SPDX-License-Identifier: Apache-2.0
"""LocalKeyProvider: the key file's mode, format, atomic rewrites and sharing between processes."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import multiprocessing
import os
import secrets
from pathlib import Path

import pytest

from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProviderUnavailable
from plugin.crypto.local import LocalKeyProvider


def _mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def _write_key_file(path: Path, keys: dict[str, tuple[str, bytes]]) -> None:
    body = {
        "format": 1,
        "keys": {
            k: {"kind": kind, "key": base64.b64encode(v).decode()} for k, (kind, v) in keys.items()
        },
    }
    path.write_text(json.dumps(body), encoding="utf-8")
    path.chmod(0o600)


def test_creates_the_key_file_with_mode_0600(tmp_path: Path) -> None:
    path = tmp_path / "instance" / "keys.json"

    provider = LocalKeyProvider(path)
    provider.create_key("q/k")

    assert _mode(path) == 0o600
    assert json.loads(path.read_text())["keys"]["q/k"]["kind"] == "aes"
    assert _mode(path.with_name("keys.json.lock")) == 0o600
    assert sorted(p.name for p in path.parent.iterdir()) == ["keys.json", "keys.json.lock"]


@pytest.mark.parametrize("mode", [0o640, 0o604, 0o660, 0o644, 0o610])
def test_refuses_a_key_file_open_to_group_or_others(tmp_path: Path, mode: int) -> None:
    path = tmp_path / "keys.json"
    LocalKeyProvider(path)
    path.chmod(mode)

    with pytest.raises(KeyProviderUnavailable, match=r"accessible by group or others.*chmod 600"):
        LocalKeyProvider(path)


def test_an_open_provider_refuses_once_the_file_is_widened(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    provider = LocalKeyProvider(path)
    provider.create_key("q/k")
    path.chmod(0o644)
    os.utime(path, ns=(1, 1))  # a mode change alone also changes ctime; make sure it is seen

    with pytest.raises(KeyProviderUnavailable, match="accessible by group or others"):
        provider.wrap("q/k", secrets.token_bytes(32))


@pytest.mark.parametrize(
    "content", ["not json", "[]", '{"format": 2, "keys": {}}', '{"format": 1}']
)
def test_refuses_a_malformed_key_file(tmp_path: Path, content: str) -> None:
    path = tmp_path / "keys.json"
    path.write_text(content)
    path.chmod(0o600)

    with pytest.raises(KeyProviderUnavailable, match="not a valid key file"):
        LocalKeyProvider(path)


def test_unreadable_folder_is_unavailable(tmp_path: Path) -> None:
    if os.geteuid() == 0:
        path = tmp_path / "a-file" / "keys.json"  # root ignores modes; a file as folder fails
        (tmp_path / "a-file").write_text("x")
    else:
        folder = tmp_path / "locked"
        folder.mkdir(mode=0o000)
        path = folder / "keys.json"

    with pytest.raises(KeyProviderUnavailable, match="key file"):
        LocalKeyProvider(path)


def test_rfc3394_vector_and_hmac_sha256(tmp_path: Path) -> None:
    # RFC 3394 section 4.6: 256-bit key data wrapped with a 256-bit KEK.
    kek = bytes.fromhex("000102030405060708090A0B0C0D0E0F101112131415161718191A1B1C1D1E1F")
    data = bytes.fromhex("00112233445566778899AABBCCDDEEFF000102030405060708090A0B0C0D0E0F")
    expected = bytes.fromhex(
        "28C9F404C4B810F4CBCCB35CFB87F8263F5786E2D80ED326CBC7F0E71A99F43BFB988B9B7A02DD21"
    )
    path = tmp_path / "keys.json"
    _write_key_file(path, {"q/k": ("aes", kek), "q/m": ("hmac", kek)})
    provider = LocalKeyProvider(path)

    assert provider.wrap("q/k", data) == expected
    assert provider.unwrap("q/k", expected) == data
    assert provider.derive("q/m", b"ctx") == hmac.new(kek, b"ctx", hashlib.sha256).digest()


def test_changes_survive_a_new_instance(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    first = LocalKeyProvider(path)
    first.create_key("q/k")
    wrapped = first.wrap("q/k", b"k" * 32)

    assert LocalKeyProvider(path).unwrap("q/k", wrapped) == b"k" * 32


def test_instances_see_each_others_changes(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    one, two = LocalKeyProvider(path), LocalKeyProvider(path, recheck=0.0)
    one.create_key("q/k")
    wrapped = two.wrap("q/k", b"k" * 32)  # an unknown label always re-reads the file

    one.destroy_key("q/k")

    with pytest.raises(KeyDestroyed):
        two.unwrap("q/k", wrapped)
    assert "q/k" not in path.read_text()


def test_a_destroy_elsewhere_takes_effect_within_the_recheck_interval(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    now = [100.0]
    one = LocalKeyProvider(path)
    two = LocalKeyProvider(path, recheck=0.5, clock=lambda: now[0])
    one.create_key("q/k")
    wrapped = two.wrap("q/k", b"k" * 32)
    one.destroy_key("q/k")

    assert two.unwrap("q/k", wrapped) == b"k" * 32  # known key, checked under 0.5 s ago
    now[0] += 0.5
    with pytest.raises(KeyDestroyed):
        two.unwrap("q/k", wrapped)


def test_destroy_removes_the_key_bytes_from_the_file(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    provider = LocalKeyProvider(path)
    provider.create_key("q/k")
    key = json.loads(path.read_text())["keys"]["q/k"]["key"]

    provider.destroy_key("q/k")

    assert key not in path.read_text()


def _create_keys(path: str, worker: int) -> None:
    provider = LocalKeyProvider(Path(path))
    for i in range(10):
        provider.create_key(f"q/{worker}/{i}")


def test_concurrent_processes_do_not_lose_updates(tmp_path: Path) -> None:
    path = tmp_path / "keys.json"
    LocalKeyProvider(path)
    context = multiprocessing.get_context("fork")  # no re-import: the test stays fast
    procs = [context.Process(target=_create_keys, args=(str(path), n)) for n in range(4)]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(timeout=60)

    assert [proc.exitcode for proc in procs] == [0, 0, 0, 0]
    assert len(LocalKeyProvider(path).labels("q/")) == 40
    assert _mode(path) == 0o600
