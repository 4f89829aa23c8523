# SPDX-License-Identifier: Apache-2.0
"""The FHIR resource store: current versions, full history and a Patient-compartment index.

FHIR R4 RESTful API (https://hl7.org/fhir/R4/http.html): the server assigns ``id``,
``meta.versionId`` and ``meta.lastUpdated``; an update keeps the old version in history; a
delete is a new, deleted version, so a later read answers 410 Gone.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Callable
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC
from datetime import datetime
from typing import TYPE_CHECKING
from typing import Any

from .references import patients_of

if TYPE_CHECKING:
    import sqlite3

    from .database import Database

__all__ = [
    "MultipleMatches",
    "ResourceStore",
    "StoreError",
    "StoredResource",
    "VersionConflict",
    "VersionRequired",
    "now_instant",
]

Matcher = Callable[[list["StoredResource"]], list["StoredResource"]]


def now_instant() -> str:
    """The current time as a FHIR ``instant`` with milliseconds."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class StoredResource:
    """One version of a resource."""

    resource_type: str
    id: str
    version: int
    last_updated: str
    deleted: bool
    body: dict[str, Any]


class StoreError(Exception):
    """A write could not be applied."""


class VersionConflict(StoreError):
    """``If-Match`` names a version that is not current (FHIR: 412 Precondition Failed)."""


class VersionRequired(StoreError):
    """The server requires ``If-Match`` for this update (428 Precondition Required)."""


class MultipleMatches(StoreError):
    """A conditional create's criteria matched more than one resource (412)."""


def _row(row: sqlite3.Row) -> StoredResource:
    return StoredResource(
        resource_type=row["type"],
        id=row["id"],
        version=int(row["version"]),
        last_updated=row["last_updated"],
        deleted=bool(row["deleted"]),
        body=json.loads(row["body"]),
    )


class ResourceStore:
    """Reads and versioned writes of FHIR resources in the sandbox database."""

    def __init__(self, db: Database, fhir_base: str) -> None:
        self._db = db
        self._fhir_base = fhir_base

    # -- reads ---------------------------------------------------------------------------

    def read(self, resource_type: str, resource_id: str) -> StoredResource | None:
        """The current version (possibly a deletion), or ``None`` if it never existed."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM resources WHERE type = ? AND id = ?", (resource_type, resource_id)
            ).fetchone()
        return None if row is None else _row(row)

    def vread(self, resource_type: str, resource_id: str, version: int) -> StoredResource | None:
        """One historical version."""
        with self._db.connection() as conn:
            row = conn.execute(
                "SELECT * FROM resource_history WHERE type = ? AND id = ? AND version = ?",
                (resource_type, resource_id, version),
            ).fetchone()
        return None if row is None else _row(row)

    def current(self, resource_type: str, patient: str | None = None) -> list[StoredResource]:
        """Every live resource of a type, optionally only those in ``patient``'s compartment."""
        with self._db.connection() as conn:
            return self._current(conn, resource_type, patient)

    @staticmethod
    def _current(
        conn: sqlite3.Connection, resource_type: str, patient: str | None
    ) -> list[StoredResource]:
        if patient is None:
            rows = conn.execute(
                "SELECT * FROM resources WHERE type = ? AND deleted = 0 ORDER BY id",
                (resource_type,),
            ).fetchall()
        else:
            rows = conn.execute(
                "SELECT r.* FROM resources r JOIN resource_patients p"
                " ON p.type = r.type AND p.id = r.id"
                " WHERE r.type = ? AND p.patient = ? AND r.deleted = 0 ORDER BY r.id",
                (resource_type, patient),
            ).fetchall()
        return [_row(row) for row in rows]

    def is_empty(self) -> bool:
        """Whether no resource was ever stored."""
        with self._db.connection() as conn:
            return conn.execute("SELECT 1 FROM resources LIMIT 1").fetchone() is None

    # -- writes --------------------------------------------------------------------------

    def create(
        self, resource_type: str, body: dict[str, Any], *, matcher: Matcher | None = None
    ) -> tuple[StoredResource, bool]:
        """Create with a server-assigned id; returns ``(resource, created)``.

        With ``matcher`` (conditional create, ``If-None-Exist``), the criteria are evaluated in
        the same transaction: no match creates, one match returns it unchanged.

        :raises MultipleMatches: when the criteria match more than one resource.
        """
        with self._db.transaction() as conn:
            if matcher is not None:
                matches = matcher(self._current(conn, resource_type, None))
                if len(matches) > 1:
                    raise MultipleMatches(f"{len(matches)} resources match the criteria.")
                if matches:
                    return matches[0], False
            stored = self._write(conn, resource_type, str(uuid.uuid4()), body, version=1)
        return stored, True

    def update(
        self,
        resource_type: str,
        resource_id: str,
        body: dict[str, Any],
        *,
        if_match: int | None,
        require_if_match: bool,
    ) -> tuple[StoredResource, bool]:
        """Update (or create with the client's id); returns ``(resource, created)``.

        :raises VersionConflict: ``if_match`` is not the current version.
        :raises VersionRequired: ``require_if_match`` and no ``if_match`` for a live resource.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT version, deleted FROM resources WHERE type = ? AND id = ?",
                (resource_type, resource_id),
            ).fetchone()
            exists = row is not None and not row["deleted"]
            if if_match is not None and (not exists or row["version"] != if_match):
                raise VersionConflict(
                    f"Version {if_match} is not the current version of "
                    f"{resource_type}/{resource_id}."
                )
            if require_if_match and exists and if_match is None:
                raise VersionRequired(f"Updating {resource_type}/{resource_id} needs If-Match.")
            version = 1 if row is None else int(row["version"]) + 1
            stored = self._write(conn, resource_type, resource_id, body, version=version)
        return stored, not exists

    def delete(
        self, resource_type: str, resource_id: str, *, if_match: int | None = None
    ) -> StoredResource | None:
        """Soft-delete; returns the current record, or ``None`` if it never existed.

        Deleting an already deleted resource changes nothing.

        :raises VersionConflict: ``if_match`` is not the current version.
        """
        with self._db.transaction() as conn:
            row = conn.execute(
                "SELECT * FROM resources WHERE type = ? AND id = ?", (resource_type, resource_id)
            ).fetchone()
            if row is None:
                return None
            current = _row(row)
            if if_match is not None and (current.deleted or current.version != if_match):
                raise VersionConflict(
                    f"Version {if_match} is not the current version of "
                    f"{resource_type}/{resource_id}."
                )
            if current.deleted:
                return current
            return self._write(
                conn, resource_type, resource_id, current.body, current.version + 1, deleted=True
            )

    def seed(self, resources: Iterable[dict[str, Any]]) -> int:
        """Store ``resources`` (each with its own ``id``) as version 1 in one transaction."""
        count = 0
        with self._db.transaction() as conn:
            for body in resources:
                self._write(conn, str(body["resourceType"]), str(body["id"]), body, version=1)
                count += 1
        return count

    def _write(
        self,
        conn: sqlite3.Connection,
        resource_type: str,
        resource_id: str,
        body: dict[str, Any],
        version: int,
        *,
        deleted: bool = False,
    ) -> StoredResource:
        last_updated = now_instant()
        stored_body = dict(body)
        stored_body["resourceType"] = resource_type
        stored_body["id"] = resource_id
        meta = dict(stored_body.get("meta") or {})
        meta["versionId"] = str(version)
        meta["lastUpdated"] = last_updated
        stored_body["meta"] = meta
        text = json.dumps(stored_body, separators=(",", ":"), ensure_ascii=False)
        row = (resource_type, resource_id, version, last_updated, int(deleted), text)
        conn.execute(
            "INSERT OR REPLACE INTO resources (type, id, version, last_updated, deleted, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        conn.execute(
            "INSERT INTO resource_history (type, id, version, last_updated, deleted, body)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            row,
        )
        conn.execute(
            "DELETE FROM resource_patients WHERE type = ? AND id = ?", (resource_type, resource_id)
        )
        if not deleted:
            conn.executemany(
                "INSERT INTO resource_patients (type, id, patient) VALUES (?, ?, ?)",
                [
                    (resource_type, resource_id, patient)
                    for patient in sorted(patients_of(stored_body, self._fhir_base))
                ],
            )
        return StoredResource(
            resource_type, resource_id, version, last_updated, deleted, stored_body
        )
