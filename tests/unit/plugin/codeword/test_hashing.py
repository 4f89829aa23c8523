# SPDX-License-Identifier: Apache-2.0
"""WordHasher: argon2id over a keyed HMAC whose key (the pepper) stays in the key provider."""

from __future__ import annotations

import hashlib
import hmac
import threading
from pathlib import Path

import pytest
from argon2.low_level import Type
from argon2.low_level import hash_secret_raw

from plugin.codeword.hashing import PEPPER_LABEL
from plugin.codeword.hashing import WordHasher
from plugin.codeword.hashing import normalise
from plugin.crypto.interfaces import KeyDestroyed
from plugin.crypto.interfaces import KeyProvider
from plugin.crypto.local import LocalKeyProvider
from tests.unit.plugin.codeword.support import FAST

PSEUDONYM = "ab" * 32


@pytest.mark.parametrize(
    ("typed", "normal"),
    [
        ("  Blue   Heron ", "blue heron"),
        ("BLUE\tHERON\n", "blue heron"),
        (
            "\uff22\uff4c\uff55\uff45\u3000\uff28\uff45\uff52\uff4f\uff4e",
            "blue heron",
        ),  # full width
        ("Straße", "strasse"),
        ("ﬁre", "fire"),  # ligature
    ],
)
def test_normalise_folds_case_width_and_spaces(typed: str, normal: str) -> None:
    assert normalise(typed) == normal


def test_round_trip_on_each_provider(provider: KeyProvider) -> None:
    hasher = WordHasher(provider, **FAST)
    salt, digest, params = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")

    assert hasher.verify("clinic", PSEUDONYM, "lantern  OVER marsh", salt, digest, params)
    assert not hasher.verify("clinic", PSEUDONYM, "Lantern over Marsj", salt, digest, params)
    assert not hasher.verify("clinic", "cd" * 32, "Lantern over Marsh", salt, digest, params)
    assert not hasher.verify("other", PSEUDONYM, "Lantern over Marsh", salt, digest, params)
    assert (len(salt), len(digest)) == (16, 32)
    assert params == {"type": "argon2id", "version": 19, "time_cost": 1, "memory_cost": 256,
                      "parallelism": 1, "hash_len": 32, "pepper": PEPPER_LABEL}  # fmt: skip


def test_each_hash_has_its_own_salt(keys: LocalKeyProvider) -> None:
    hasher = WordHasher(keys, **FAST)
    first = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")
    second = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")
    assert first[0] != second[0]
    assert first[1] != second[1]


def test_production_defaults(keys: LocalKeyProvider) -> None:
    hasher = WordHasher(keys)
    salt, digest, params = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")

    assert (params["time_cost"], params["memory_cost"], params["parallelism"]) == (3, 65536, 2)
    assert hasher.verify("clinic", PSEUDONYM, "Lantern over Marsh", salt, digest, params)
    assert not hasher.verify("clinic", PSEUDONYM, "Lantern over Mars", salt, digest, params)
    assert not hasher.needs_rehash(params)


def test_digest_needs_the_pepper_held_by_the_provider(
    keys: LocalKeyProvider, tmp_path: Path
) -> None:
    word = "Lantern over Marsh"
    hasher = WordHasher(keys, **FAST)
    salt, digest, params = hasher.hash("clinic", PSEUDONYM, word)

    def argon(secret: bytes) -> bytes:
        return hash_secret_raw(secret, salt, time_cost=1, memory_cost=256, parallelism=1,
                               hash_len=32, type=Type.ID)  # fmt: skip

    context = b"\x1f".join(
        [b"quietline-codeword", b"clinic", PSEUDONYM.encode(), normalise(word).encode()]
    )
    # With the provider's key the construction is reproducible ...
    assert argon(keys.derive(PEPPER_LABEL, context)) == digest
    # ... but not from what a copy of the database holds: the word, salt and parameters.
    assert argon(normalise(word).encode()) != digest
    assert argon(hashlib.sha256(context).digest()) != digest
    assert argon(hmac.new(bytes(32), context, hashlib.sha256).digest()) != digest
    # Another deployment's provider (another pepper) neither reproduces nor accepts the digest.
    stranger = LocalKeyProvider(tmp_path / "other-keys.json")
    other = WordHasher(stranger, **FAST)
    assert not other.verify("clinic", PSEUDONYM, word, salt, digest, params)
    assert stranger.derive(PEPPER_LABEL, context) != keys.derive(PEPPER_LABEL, context)


def test_pepper_key_is_created_on_first_use_and_shared(key_file: Path) -> None:
    first = LocalKeyProvider(key_file)
    assert not first.has_key(PEPPER_LABEL)
    salt, digest, params = WordHasher(first, **FAST).hash("clinic", PSEUDONYM, "Lantern over Marsh")
    assert first.has_key(PEPPER_LABEL)

    second = LocalKeyProvider(key_file)  # another process reading the same key file
    assert WordHasher(second, **FAST).verify("clinic", PSEUDONYM, "Lantern over Marsh",
                                             salt, digest, params)  # fmt: skip


def test_parallel_first_use_creates_one_pepper(key_file: Path) -> None:
    hashers = [WordHasher(LocalKeyProvider(key_file), **FAST) for _ in range(6)]
    start = threading.Barrier(len(hashers))
    results: list[tuple[bytes, bytes, dict[str, object]]] = []
    errors: list[BaseException] = []

    def work(hasher: WordHasher) -> None:
        try:
            start.wait(timeout=10)
            results.append(hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh"))
        except BaseException as exc:  # noqa: BLE001  (reported by the assertion below)
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(h,)) for h in hashers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert LocalKeyProvider(key_file).labels("q/codeword") == [PEPPER_LABEL]
    checker = WordHasher(LocalKeyProvider(key_file), **FAST)
    for salt, digest, params in results:
        assert checker.verify("clinic", PSEUDONYM, "Lantern over Marsh", salt, digest, params)


def test_stored_parameters_are_used_and_rehash_is_asked_for(keys: LocalKeyProvider) -> None:
    old = WordHasher(keys, time_cost=1, memory_cost=128, parallelism=1)
    salt, digest, params = old.hash("clinic", PSEUDONYM, "Lantern over Marsh")
    new = WordHasher(keys, **FAST)

    assert new.verify("clinic", PSEUDONYM, "Lantern over Marsh", salt, digest, params)
    assert new.needs_rehash(params)
    assert not new.needs_rehash(new.params)


def test_damaged_parameters_are_refused(keys: LocalKeyProvider) -> None:
    hasher = WordHasher(keys, **FAST)
    salt, digest, params = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")
    with pytest.raises(ValueError, match="Unsupported"):
        hasher.verify("clinic", PSEUDONYM, "Lantern over Marsh", salt, digest,
                      {**params, "type": "argon2i"})  # fmt: skip


def test_a_destroyed_pepper_makes_words_unverifiable(keys: LocalKeyProvider) -> None:
    hasher = WordHasher(keys, **FAST)
    salt, digest, params = hasher.hash("clinic", PSEUDONYM, "Lantern over Marsh")
    keys.destroy_key(PEPPER_LABEL)
    with pytest.raises(KeyDestroyed):
        WordHasher(keys, **FAST, label="q/codeword-pepper/v2").verify(
            "clinic", PSEUDONYM, "Lantern over Marsh", salt, digest, params
        )
