# SPDX-License-Identifier: Apache-2.0
"""Pending authorize requests and live launches in SQL: sealed, single use, bounded in time."""

from __future__ import annotations

import secrets
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC
from datetime import datetime
from datetime import timedelta

import pytest
from sqlalchemy import func
from sqlalchemy import select
from sqlalchemy import text
from sqlalchemy import update

from plugin.crypto import Sealer
from plugin.crypto import SealError
from plugin.crypto import lookup_hash
from plugin.errors import SessionExpired
from plugin.launch.errors import SignInBusy
from plugin.launch.errors import TooManySignIns
from plugin.launch.models import LaunchRecord
from plugin.launch.models import PendingState
from plugin.launch.store import SqlLaunchStateStore
from plugin.launch.store import SqlLaunchStore
from plugin.launch.store import StoredTokens
from plugin.store import Database
from smart_launch.context import LaunchContext
from smart_launch.launch import PendingAuthorization
from tests.unit.plugin.support import EHR_ISS

IDLE = 30 * 60
ABSOLUTE = 10 * 60 * 60
PATIENT = "patient-6f1c"
ACCESS = "access-" + "A" * 20
REFRESH = "refresh-" + "R" * 20


@pytest.fixture
def sealer(token_key: bytes) -> Sealer:
    return Sealer(token_key, "launch")


@pytest.fixture
def states(db: Database, sealer: Sealer, tenant: str) -> SqlLaunchStateStore:
    return SqlLaunchStateStore(db, sealer)


@pytest.fixture
def launches(db: Database, sealer: Sealer, tenant: str) -> SqlLaunchStore:
    return SqlLaunchStore(db, sealer, idle_seconds=IDLE, absolute_seconds=ABSOLUTE)


def _pending(**overrides: object) -> PendingAuthorization:
    values: dict[str, object] = {
        "tenant": "ehr",
        "iss": EHR_ISS,
        "code_verifier": secrets.token_urlsafe(48),
        "requested_scope": "launch openid fhirUser patient/Patient.rs",
        "launch_type": "ehr",
        "binding": lookup_hash(secrets.token_urlsafe(32)),
        "expires_at": time.time() + 600,
    }
    values.update(overrides)
    return PendingAuthorization(**values)  # type: ignore[arg-type]


def _context(**overrides: object) -> LaunchContext:
    values: dict[str, object] = {
        "tenant": "ehr",
        "iss": EHR_ISS,
        "patient": PATIENT,
        "encounter": "enc-1",
        "fhir_user": EHR_ISS + "/Practitioner/7",
        "scopes": ("launch", "openid", "patient/Patient.rs"),
        "need_patient_banner": True,
        "smart_style_url": None,
    }
    values.update(overrides)
    return LaunchContext(**values)  # type: ignore[arg-type]


def _tokens(access: str = ACCESS, refresh: str | None = REFRESH, ttl: float = 3600) -> StoredTokens:
    return StoredTokens(access_token=access, expires_at=time.time() + ttl, refresh_token=refresh)


def _create(launches: SqlLaunchStore, session_hash: str, **context: object) -> str:
    return launches.create(
        session_hash=session_hash,
        context=_context(**context),
        roles=("clinician",),
        tokens=_tokens(),
        missing_scopes=("patient/Flag.cru",),
    )


def _raw_columns(db: Database, table: str) -> list[bytes]:
    """Every column of every row, as raw bytes."""
    with db.engine.connect() as conn:
        rows = conn.execute(text(f"SELECT * FROM {table}")).all()
    return [
        bytes(value) if isinstance(value, bytes | memoryview) else str(value).encode()
        for row in rows
        for value in row
    ]


def _count(db: Database, model: type) -> int:
    with db.session() as session:
        return int(session.scalar(select(func.count()).select_from(model)) or 0)


def _age_launch(db: Database, handle: str, **columns: timedelta) -> None:
    """Move a launch's timestamps into the past by the given amounts."""
    now = datetime.now(UTC)
    with db.session() as session:
        session.execute(
            update(LaunchRecord)
            .where(LaunchRecord.handle == handle)
            .values({name: now - delta for name, delta in columns.items()})
        )


# --- pending states ---------------------------------------------------------------------------


BROWSER = lookup_hash("browser-session-for-the-store-tests")


def _mine(**overrides: object) -> PendingAuthorization:
    return _pending(binding=BROWSER, **overrides)


def test_save_then_consume_returns_the_pending_authorization(
    states: SqlLaunchStateStore,
) -> None:
    pending = _pending(return_to="/l/abc/notes/")
    states.save("state-1", pending)

    assert states.consume("state-1", pending.binding) == pending


def test_consume_is_single_use(states: SqlLaunchStateStore, db: Database) -> None:
    states.save("state-1", _mine())

    assert states.consume("state-1", BROWSER) is not None
    assert states.consume("state-1", BROWSER) is None
    assert _count(db, PendingState) == 0


def test_unknown_state_consumes_nothing(states: SqlLaunchStateStore, db: Database) -> None:
    states.save("state-1", _mine())

    assert states.consume("state-2", BROWSER) is None
    assert states.consume("", BROWSER) is None
    assert _count(db, PendingState) == 1


def test_another_browser_cannot_consume_and_leaves_the_state_usable(
    states: SqlLaunchStateStore, db: Database
) -> None:
    pending = _mine()
    states.save("state-1", pending)

    assert states.consume("state-1", lookup_hash("attacker-session")) is None
    assert states.consume("state-1", "") is None
    assert _count(db, PendingState) == 1
    assert states.is_pending("state-1")

    assert states.consume("state-1", BROWSER) == pending
    assert not states.is_pending("state-1")


def test_is_pending_ignores_expired_and_unknown_states(states: SqlLaunchStateStore) -> None:
    states.save("old", _mine(expires_at=time.time() - 5))

    assert not states.is_pending("old")
    assert not states.is_pending("never-issued")


def test_concurrent_consume_has_exactly_one_winner(
    states: SqlLaunchStateStore, db: Database
) -> None:
    pending = _mine()
    states.save("contested", pending)
    barrier = threading.Barrier(8)

    def consume() -> PendingAuthorization | None:
        barrier.wait(timeout=10)
        return states.consume("contested", BROWSER)

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda _: consume(), range(8)))

    winners = [result for result in results if result is not None]
    assert winners == [pending]
    assert _count(db, PendingState) == 0


def test_nothing_is_stored_in_plaintext(states: SqlLaunchStateStore, db: Database) -> None:
    state = secrets.token_urlsafe(32)
    pending = _pending()
    states.save(state, pending)

    columns = _raw_columns(db, "pending_states")
    assert columns
    for secret in (state, pending.code_verifier, pending.iss, pending.binding, "127.0.0.1"):
        assert not any(secret.encode() in value for value in columns), secret
    assert any(lookup_hash(state).encode() in value for value in columns)


def test_sealed_state_does_not_open_under_another_state(
    states: SqlLaunchStateStore, db: Database
) -> None:
    states.save("state-1", _mine())
    states.save("state-2", _mine())
    with db.session() as session:
        first = session.get(PendingState, lookup_hash("state-1"))
        second = session.get(PendingState, lookup_hash("state-2"))
        assert first is not None
        assert second is not None
        second.sealed = first.sealed

    with pytest.raises(SealError):
        states.consume("state-2", BROWSER)


def test_purge_expired_pending_states(states: SqlLaunchStateStore, db: Database) -> None:
    states.save("new", _mine())
    states.save("old", _mine(expires_at=time.time() - 5))

    assert states.purge_expired() == 1
    assert states.consume("old", BROWSER) is None
    assert states.consume("new", BROWSER) is not None


def test_the_first_save_purges_and_later_ones_wait_for_the_interval(
    states: SqlLaunchStateStore, db: Database
) -> None:
    states.save("old", _mine(expires_at=time.time() - 5))
    states.save("new", _mine())
    assert _count(db, PendingState) == 2  # the purge ran before "old" existed

    states._next_purge = 0.0
    states.save("newer", _mine())

    assert _count(db, PendingState) == 2
    assert states.consume("old", BROWSER) is None


def test_one_browser_is_capped_and_nothing_is_written(
    db: Database, sealer: Sealer, tenant: str
) -> None:
    capped = SqlLaunchStateStore(db, sealer, per_binding=3)
    for index in range(3):
        capped.save(f"mine-{index}", _mine())

    with pytest.raises(TooManySignIns) as raised:
        capped.save("one-too-many", _mine())

    assert raised.value.status_code == 429
    assert _count(db, PendingState) == 3
    assert not capped.is_pending("one-too-many")
    capped.save("another-browser", _pending())  # others are not affected
    assert _count(db, PendingState) == 4


def test_expired_states_do_not_count_against_a_browser(
    db: Database, sealer: Sealer, tenant: str
) -> None:
    capped = SqlLaunchStateStore(db, sealer, per_binding=1, purge_interval=3600)
    capped.save("first", _mine())  # the one purge of the interval runs here
    capped.save("old", _pending(expires_at=time.time() - 5))
    capped.consume("first", BROWSER)
    capped.save("stale", _mine(expires_at=time.time() - 5))

    capped.save("fresh", _mine())

    assert capped.is_pending("fresh")


def test_the_total_is_capped_after_purging_expired_rows(
    db: Database, sealer: Sealer, tenant: str
) -> None:
    capped = SqlLaunchStateStore(db, sealer, total=3, purge_interval=3600)
    capped.save("a", _pending())
    capped.save("expired", _pending(expires_at=time.time() - 5))
    capped.save("b", _pending())

    capped.save("c", _pending())  # the expired row is purged to make room
    assert _count(db, PendingState) == 3

    with pytest.raises(SignInBusy) as raised:
        capped.save("d", _pending())
    assert raised.value.status_code == 503
    assert _count(db, PendingState) == 3


def test_a_new_launch_clears_ended_ones(launches: SqlLaunchStore, db: Database) -> None:
    old = _create(launches, lookup_hash("browser-1"))
    with db.session() as session:
        session.execute(
            update(LaunchRecord)
            .where(LaunchRecord.handle == old)
            .values(expires_at=datetime.now(UTC) - timedelta(seconds=1))
        )
    _create(launches, lookup_hash("browser-2"))

    with db.session() as session:
        assert session.get(LaunchRecord, old) is None


def test_purge_expired_pending_states_at_a_given_time(states: SqlLaunchStateStore) -> None:
    states.save("soon", _pending(expires_at=time.time() + 60))

    assert states.purge_expired() == 0
    assert states.purge_expired(datetime.now(UTC) + timedelta(minutes=2)) == 1


# --- live launches ----------------------------------------------------------------------------


def test_create_then_open(launches: SqlLaunchStore) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)

    live = launches.open(handle, binding)

    assert live.handle == handle
    assert live.context == _context()
    assert live.roles == ("clinician",)
    assert live.missing_scopes == ("patient/Flag.cru",)
    assert live.tokens.access_token == ACCESS
    assert live.tokens.refresh_token == REFRESH
    assert len(handle) >= 32


def test_handles_are_unique_and_random(launches: SqlLaunchStore) -> None:
    binding = lookup_hash("browser-1")
    handles = {_create(launches, binding) for _ in range(5)}

    assert len(handles) == 5


@pytest.mark.parametrize("presented", [lookup_hash("browser-2"), None, ""])
def test_open_from_another_browser_is_refused(
    launches: SqlLaunchStore, presented: str | None
) -> None:
    handle = _create(launches, lookup_hash("browser-1"))

    with pytest.raises(SessionExpired):
        launches.open(handle, presented)


def test_unknown_handle_is_refused(launches: SqlLaunchStore) -> None:
    with pytest.raises(SessionExpired):
        launches.open("no-such-handle", lookup_hash("browser-1"))


def test_launch_row_holds_no_token_or_patient_in_plaintext(
    launches: SqlLaunchStore, db: Database
) -> None:
    _create(launches, lookup_hash("browser-1"))

    columns = _raw_columns(db, "launches")
    for secret in (ACCESS, REFRESH, PATIENT, "Practitioner/7", "browser-1", "clinician"):
        assert not any(secret.encode() in value for value in columns), secret


def test_idle_launch_is_refused_and_deleted(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    _age_launch(db, handle, last_seen_at=timedelta(seconds=IDLE + 5))

    with pytest.raises(SessionExpired):
        launches.open(handle, binding)
    assert _count(db, LaunchRecord) == 0


def test_launch_past_its_absolute_lifetime_is_refused_and_deleted(
    launches: SqlLaunchStore, db: Database
) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    _age_launch(db, handle, expires_at=timedelta(seconds=1))

    with pytest.raises(SessionExpired):
        launches.open(handle, binding)
    assert _count(db, LaunchRecord) == 0


def test_expired_launch_stays_refused(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    _age_launch(db, handle, expires_at=timedelta(seconds=1))

    for _ in range(2):
        with pytest.raises(SessionExpired):
            launches.open(handle, binding)


def test_open_slides_the_idle_window(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    _age_launch(db, handle, last_seen_at=timedelta(seconds=IDLE - 60))

    launches.open(handle, binding)

    with db.session() as session:
        row = session.get(LaunchRecord, handle)
        assert row is not None
        last_seen = row.last_seen_at
    last_seen = last_seen if last_seen.tzinfo else last_seen.replace(tzinfo=UTC)
    assert datetime.now(UTC) - last_seen < timedelta(seconds=30)
    launches.open(handle, binding)


def test_tampered_sealed_column_is_refused(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    with db.session() as session:
        row = session.get(LaunchRecord, handle)
        assert row is not None
        blob = bytearray(row.sealed)
        blob[20] ^= 0x01
        row.sealed = bytes(blob)

    with pytest.raises(SealError):
        launches.open(handle, binding)


def test_sealed_column_copied_to_another_launch_is_refused(
    launches: SqlLaunchStore, db: Database
) -> None:
    binding = lookup_hash("browser-1")
    first = _create(launches, binding)
    second = _create(launches, binding, patient="someone-else")
    with db.session() as session:
        source = session.get(LaunchRecord, first)
        target = session.get(LaunchRecord, second)
        assert source is not None
        assert target is not None
        target.sealed = source.sealed

    with pytest.raises(SealError):
        launches.open(second, binding)


def test_end_deletes_the_launch(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    other = _create(launches, binding)

    launches.end(handle)

    with pytest.raises(SessionExpired):
        launches.open(handle, binding)
    assert launches.open(other, binding).handle == other


def test_refresh_runs_once_for_concurrent_callers_and_persists(
    launches: SqlLaunchStore,
) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)
    calls: list[StoredTokens] = []
    calls_lock = threading.Lock()
    barrier = threading.Barrier(6)

    def refresh(current: StoredTokens) -> StoredTokens:
        with calls_lock:
            calls.append(current)
        time.sleep(0.2)  # the EHR takes a moment; the other callers must wait, not refresh
        return _tokens(access="access-new", refresh="refresh-new")

    def call() -> StoredTokens:
        barrier.wait(timeout=10)
        return launches.refresh_tokens(
            handle, needed=lambda tokens: tokens.access_token == ACCESS, refresh=refresh
        )

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(lambda _: call(), range(6)))

    assert len(calls) == 1
    assert calls[0].refresh_token == REFRESH
    assert {result.access_token for result in results} == {"access-new"}
    stored = launches.open(handle, binding).tokens
    assert stored.access_token == "access-new"
    assert stored.refresh_token == "refresh-new"


def test_refresh_not_needed_leaves_the_tokens(launches: SqlLaunchStore) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)

    def refresh(current: StoredTokens) -> StoredTokens:
        raise AssertionError("refresh must not run")

    tokens = launches.refresh_tokens(handle, needed=lambda _: False, refresh=refresh)

    assert tokens.access_token == ACCESS
    assert launches.open(handle, binding).tokens.access_token == ACCESS


def test_failed_refresh_keeps_the_old_tokens(launches: SqlLaunchStore) -> None:
    binding = lookup_hash("browser-1")
    handle = _create(launches, binding)

    def refresh(current: StoredTokens) -> StoredTokens:
        raise SessionExpired

    with pytest.raises(SessionExpired):
        launches.refresh_tokens(handle, needed=lambda _: True, refresh=refresh)
    assert launches.open(handle, binding).tokens.refresh_token == REFRESH


def test_refresh_of_an_unknown_launch_is_refused(launches: SqlLaunchStore) -> None:
    with pytest.raises(SessionExpired):
        launches.refresh_tokens("nope", needed=lambda _: True, refresh=lambda t: t)


def test_purge_expired_launches(launches: SqlLaunchStore, db: Database) -> None:
    binding = lookup_hash("browser-1")
    idle = _create(launches, binding)
    old = _create(launches, binding)
    live = _create(launches, binding)
    _age_launch(db, idle, last_seen_at=timedelta(seconds=IDLE + 5))
    _age_launch(db, old, expires_at=timedelta(seconds=1))

    assert launches.purge_expired() == 2
    assert _count(db, LaunchRecord) == 1
    assert launches.open(live, binding).handle == live
