# SPDX-License-Identifier: Apache-2.0
"""Whether a client has an enrolled code word, by pseudonym over the ``codewords`` table.

One indexed lookup (the ``(tenant_id, patient_pseudonym)`` unique constraint); the patient id
never reaches the database.
"""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import bindparam
from sqlalchemy import select
from sqlalchemy.orm import Session

from ..crypto.pseudonyms import Pseudonymizer
from ..store import Database
from .models import CodewordRow

__all__ = ["SqlProtectedClients"]

_CODEWORDS = CodewordRow.__table__
_ANY_PROTECTED = (
    select(_CODEWORDS.c.id)
    .where(_CODEWORDS.c.tenant_id == bindparam("tenant"))
    .where(_CODEWORDS.c.patient_pseudonym.in_(bindparam("pseudonyms", expanding=True)))
    .limit(1)
)
"""Built once and run on the connection: this lookup is on the CDS hook's hot path."""


class SqlProtectedClients:
    """:class:`~plugin.codeword.interfaces.ProtectedClients` over ``codewords``."""

    def __init__(self, db: Database, pseudonyms: Pseudonymizer) -> None:
        self._db = db
        self._pseudonyms = pseudonyms

    def is_protected(self, tenant: str, patient_id: str) -> bool:
        """``patient_id`` is the bare FHIR id (``pat-1``)."""
        return self.any_protected(tenant, (patient_id,))

    def any_protected(
        self, tenant: str, patient_ids: Iterable[str], *, session: Session | None = None
    ) -> bool:
        """Whether any of ``patient_ids`` (records merged into one another) is protected.

        :param session: run in the caller's transaction instead of a new one.
        """
        pseudonyms = sorted(
            {self._pseudonyms.pseudonym(tenant, f"Patient/{p}") for p in patient_ids}
        )
        if not pseudonyms:
            return False
        params = {"tenant": tenant, "pseudonyms": pseudonyms}
        if session is not None:
            return session.connection().execute(_ANY_PROTECTED, params).first() is not None
        with self._db.session() as own:
            return own.connection().execute(_ANY_PROTECTED, params).first() is not None
