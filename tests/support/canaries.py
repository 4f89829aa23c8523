# SPDX-License-Identifier: Apache-2.0
"""Canary strings in every encoding a leak could take, and a scanner that reports where.

A canary is a distinctive string seeded into a PHI field.  A leak is rarely verbatim: a value
may be base64-encoded inside a JSON blob or a cookie, URL-encoded in a query string, escaped by
``json.dumps``, hex-encoded by a database dump or lower-cased by normalisation.  :func:`variants`
lists each of those forms as bytes and :func:`scan` reports every place holding any of them.
"""

from __future__ import annotations

import base64
import json
import logging
import math
import os
from collections.abc import Iterable
from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote
from urllib.parse import quote_plus

from sqlalchemy import Engine
from sqlalchemy import inspect
from sqlalchemy import text

from plugin.logs import RedactingFilter

__all__ = [
    "FileSnapshot",
    "Leak",
    "LogCapture",
    "Variant",
    "base64_fragments",
    "captured_logs",
    "changed_files",
    "dump_database",
    "read_tree",
    "scan",
    "snapshot",
    "variants",
]

_MIN_FRAGMENT = 8
"""Base64 fragments shorter than this could match by chance; canaries are much longer."""


@dataclass(frozen=True)
class Variant:
    """One encoded form of a canary.

    :param name: what the form is, for example ``base64-url+1``.
    :param needle: the bytes to look for.
    :param exact: ``False`` when the form is matched case-insensitively, so the verbatim form also
        finds the lower-case and upper-case canary (hex, URL and JSON forms are case-insensitive
        too; base64 is case-sensitive).
    """

    name: str
    needle: bytes
    exact: bool


@dataclass(frozen=True)
class Leak:
    """A canary found somewhere it must not be."""

    place: str
    canary: str
    variant: str

    def __str__(self) -> str:
        return f"{self.canary!r} as {self.variant} in {self.place}"


def _fold(data: bytes) -> bytes:
    """Lower-case text in any script, leaving bytes that are not UTF-8 as they are."""
    return data.decode("utf-8", "surrogateescape").lower().encode("utf-8", "surrogateescape")


def base64_fragments(raw: bytes, *, urlsafe: bool = False) -> list[bytes]:
    """The characters of ``raw``'s base64 that do not depend on its neighbours.

    ``raw`` may start at any of the three byte offsets within a base64 group; for each, the
    encoding of ``raw`` behind 0, 1 or 2 filler bytes is cut to the characters whose six bits
    all come from ``raw``.  Any base64 text containing ``raw`` contains one of the three.
    """
    encode = base64.urlsafe_b64encode if urlsafe else base64.standard_b64encode
    fragments: list[bytes] = []
    for offset in range(3):
        encoded = encode(bytes(offset) + raw)
        first = math.ceil(8 * offset / 6)
        last = (8 * (offset + len(raw))) // 6
        fragment = encoded[first:last]
        if len(fragment) >= _MIN_FRAGMENT:
            fragments.append(fragment)
    return fragments


def variants(canary: str) -> list[Variant]:
    """Every form of ``canary`` the scanner looks for."""
    raw = canary.encode("utf-8")
    found: dict[bytes, Variant] = {}

    def add(name: str, needle: bytes | str, *, exact: bool = False) -> None:
        data = needle.encode("utf-8") if isinstance(needle, str) else needle
        key = data if exact else _fold(data)
        found.setdefault(key, Variant(name, key, exact))

    add("verbatim", raw)
    add("hex", raw.hex())
    add("url-quote", quote(canary))
    add("url-quote-all", quote(canary, safe=""))
    add("url-quote-plus", quote_plus(canary))
    add("json-ascii", json.dumps(canary, ensure_ascii=True)[1:-1])
    add("json-unicode", json.dumps(canary, ensure_ascii=False)[1:-1])
    for urlsafe, label in ((False, "base64"), (True, "base64-url")):
        for offset, fragment in enumerate(base64_fragments(raw, urlsafe=urlsafe)):
            add(f"{label}+{offset}", fragment, exact=True)
    return list(found.values())


def scan(places: Mapping[str, bytes], canaries: Iterable[str]) -> list[Leak]:
    """Every (place, canary, form) where a form of a canary occurs.

    :param places: what was collected, by a name saying where it came from.
    :param canaries: the strings that must not appear.
    """
    forms = [(canary, variants(canary)) for canary in canaries]
    leaks: list[Leak] = []
    for place, content in places.items():
        lowered = _fold(content)
        for canary, canary_forms in forms:
            for form in canary_forms:
                haystack = content if form.exact else lowered
                if form.needle in haystack:
                    leaks.append(Leak(place, canary, form.name))
    return leaks


@dataclass(frozen=True)
class FileSnapshot:
    """Size and modification time of every file under a folder."""

    files: Mapping[Path, tuple[int, int]]


def _walk(root: Path, skip: tuple[Path, ...]) -> Iterator[Path]:
    for folder, dirs, names in os.walk(root, onerror=lambda _: None):
        here = Path(folder)
        dirs[:] = [d for d in dirs if not any((here / d).is_relative_to(s) for s in skip)]
        for name in names:
            path = here / name
            if path.is_file() and not path.is_symlink():
                yield path


def snapshot(root: Path, skip: tuple[Path, ...] = ()) -> FileSnapshot:
    """Record every regular file under ``root`` (recursively), except under ``skip``."""
    files: dict[Path, tuple[int, int]] = {}
    for path in _walk(root, skip):
        try:
            stat = path.stat()
        except OSError:  # removed while walking
            continue
        files[path] = (stat.st_size, stat.st_mtime_ns)
    return FileSnapshot(files)


def changed_files(before: FileSnapshot, root: Path, skip: tuple[Path, ...] = ()) -> list[Path]:
    """Files under ``root`` created or modified since ``before``."""
    after = snapshot(root, skip)
    return sorted(path for path, seen in after.files.items() if before.files.get(path) != seen)


def read_tree(paths: Iterable[Path], label: str) -> dict[str, bytes]:
    """The bytes of each readable file (recursively for folders), named ``label:path``."""
    contents: dict[str, bytes] = {}
    for path in paths:
        files = _walk(path, ()) if path.is_dir() else [path]
        for file in files:
            try:
                contents[f"{label}:{file}"] = file.read_bytes()
            except OSError:  # removed or unreadable (another process's file)
                continue
    return contents


class LogCapture(logging.Handler):
    """Every record as the app's own handler writes it, tracebacks included."""

    def __init__(self, formatter: logging.Formatter) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(formatter)
        self.addFilter(RedactingFilter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))

    def text(self) -> bytes:
        return "\n".join(self.lines).encode("utf-8", "surrogateescape")


def _app_formatter() -> logging.Formatter:
    for handler in logging.getLogger().handlers:
        redacting = any(isinstance(f, RedactingFilter) for f in handler.filters)
        if type(handler) is logging.StreamHandler and redacting and handler.formatter:
            return handler.formatter
    raise AssertionError("the app's log handler is not installed")


@contextmanager
def captured_logs() -> Iterator[LogCapture]:
    """Attach a handler like the app's (formatter, redacting filter) to the root logger, at
    DEBUG, for the duration; the access log (``quietline.access``) reaches it too."""
    root = logging.getLogger()
    access = logging.getLogger("quietline.access")
    capture = LogCapture(_app_formatter())
    saved = (root.level, access.level, access.propagate)
    root.setLevel(logging.DEBUG)
    access.setLevel(logging.DEBUG)
    access.propagate = True
    root.addHandler(capture)
    try:
        yield capture
    finally:
        root.removeHandler(capture)
        root.setLevel(saved[0])
        access.setLevel(saved[1])
        access.propagate = saved[2]


def _as_bytes(value: object) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    return str(value).encode("utf-8", "surrogateescape")


def dump_database(engine: Engine) -> dict[str, bytes]:
    """Every column of every table, as bytes, named ``database:<table>.<column>``.

    On PostgreSQL each column is also read cast to text, so ``bytea`` is read as hex as well.
    """
    inspector = inspect(engine)
    postgres = engine.dialect.name == "postgresql"
    places: dict[str, list[bytes]] = {}
    with engine.connect() as conn:
        for table in sorted(inspector.get_table_names()):
            columns = [column["name"] for column in inspector.get_columns(table)]
            quoted = [f'"{name}"' for name in columns]
            if postgres:
                quoted += [f'"{name}"::text' for name in columns]
            sql = f'SELECT {", ".join(quoted)} FROM "{table}"'  # names from the schema
            for row in conn.execute(text(sql)):
                for index, value in enumerate(row):
                    if value is not None:
                        name = columns[index % len(columns)]
                        places.setdefault(f"database:{table}.{name}", []).append(_as_bytes(value))
    return {place: b"\n".join(values) for place, values in places.items()}
