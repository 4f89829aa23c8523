# SPDX-License-Identifier: Apache-2.0
"""UtcDateTime: aware UTC datetimes on the way out, naive ones refused on the way in."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC
from datetime import datetime
from datetime import timedelta
from datetime import timezone

import pytest
from sqlalchemy import Column
from sqlalchemy import Integer
from sqlalchemy import MetaData
from sqlalchemy import Table
from sqlalchemy import insert
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from plugin.audit import models as _audit  # noqa: F401  (registers its table)
from plugin.cds import models as _cds  # noqa: F401
from plugin.codeword import models as _codeword  # noqa: F401
from plugin.crypto import models as _crypto  # noqa: F401
from plugin.launch import models as _launch  # noqa: F401
from plugin.outbox import models as _outbox  # noqa: F401
from plugin.store import Database
from plugin.store.base import Base
from plugin.store.base import UtcDateTime
from plugin.tenants import models as _tenants  # noqa: F401
from plugin.vault import models as _vault  # noqa: F401

_metadata = MetaData()
_moments = Table(
    "utc_datetime_probe",
    _metadata,
    Column("id", Integer, primary_key=True),
    Column("at", UtcDateTime, nullable=True),
)


@pytest.fixture
def database(database_url: str) -> Iterator[Database]:
    db = Database(database_url)
    _metadata.create_all(db.engine)
    yield db
    _metadata.drop_all(db.engine)
    db.dispose()


def _round_trip(db: Database, value: datetime | None) -> datetime | None:
    with db.engine.begin() as conn:
        row_id = conn.execute(insert(_moments).values(at=value)).inserted_primary_key[0]
        return conn.execute(select(_moments.c.at).where(_moments.c.id == row_id)).scalar_one()


def test_a_utc_datetime_comes_back_aware_and_equal(database: Database) -> None:
    moment = datetime(2026, 3, 1, 12, 30, 15, 123456, tzinfo=UTC)

    back = _round_trip(database, moment)

    assert back == moment
    assert back is not None
    assert back.utcoffset() == timedelta(0)


def test_another_offset_is_stored_as_the_same_instant_in_utc(database: Database) -> None:
    moment = datetime(2026, 3, 1, 23, 0, tzinfo=timezone(timedelta(hours=-5)))

    back = _round_trip(database, moment)

    assert back == datetime(2026, 3, 2, 4, 0, tzinfo=UTC)
    assert back is not None
    assert back.tzinfo == UTC


def test_null_stays_null(database: Database) -> None:
    assert _round_trip(database, None) is None


def test_a_naive_datetime_is_refused(database: Database) -> None:
    with pytest.raises(StatementError, match="timezone-aware"):
        _round_trip(database, datetime(2026, 3, 1, 12, 0))  # noqa: DTZ001


def test_every_model_datetime_column_is_utc_datetime() -> None:
    plain = [
        f"{table.name}.{column.name}"
        for table in Base.metadata.tables.values()
        for column in table.columns
        if isinstance(column.type, type(UtcDateTime().impl))
        and not isinstance(column.type, UtcDateTime)
    ]
    assert plain == []
    assert any(
        isinstance(column.type, UtcDateTime)
        for table in Base.metadata.tables.values()
        for column in table.columns
    )
