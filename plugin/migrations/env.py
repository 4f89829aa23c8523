# SPDX-License-Identifier: Apache-2.0
"""Alembic environment: runs on the connection handed over by ``Database.upgrade``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine

from plugin.audit import models as _audit_models  # noqa: F401  (registers tables)
from plugin.cds import models as _cds_models  # noqa: F401
from plugin.codeword import models as _codeword_models  # noqa: F401
from plugin.crypto import models as _crypto_models  # noqa: F401
from plugin.launch import models as _launch_models  # noqa: F401
from plugin.outbox import models as _outbox_models  # noqa: F401
from plugin.store.base import Base
from plugin.tenants import models as _tenant_models  # noqa: F401
from plugin.vault import models as _vault_models  # noqa: F401

target_metadata = Base.metadata


def run() -> None:
    connection = context.config.attributes.get("connection")
    if connection is not None:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
        return
    engine = create_engine(context.config.get_main_option("sqlalchemy.url") or "")
    with engine.begin() as conn:
        context.configure(connection=conn, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()


run()
