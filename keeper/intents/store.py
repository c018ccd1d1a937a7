"""The durable intent store (SQLAlchemy 2: SQLite by default, PostgreSQL for several keepers).

Every change of state is one conditional ``UPDATE ... WHERE state = <expected>`` plus a row in
``intent_transitions`` in the same transaction, so an intent is never moved twice and its whole
history (time, block, tx and bundle hashes, reason) survives crashes.

Claiming: a keeper takes ready intents by moving them ``accepted -> batched`` under a fresh
claim token and a lease. On PostgreSQL the candidates are selected ``FOR UPDATE SKIP LOCKED``;
on SQLite the claim is one atomic ``UPDATE`` (SQLite serialises writers). Either way two
keepers never hold the same intent. A claim whose lease ran out (its keeper died) is taken
back: not-yet-sent intents return to ``accepted``; submitted ones are adopted so their
inclusion can be checked before anything is retried.

On PostgreSQL every statement that picks several rows to change (claim, expire, recover) locks
them ``SKIP LOCKED``, so a keeper never waits for another one's rows (and two keepers cannot
deadlock); rows a keeper is changing right now are left to it. The schema is created under a
transaction-level advisory lock, so keepers starting together on an empty database do not
race. ``postgresql://`` URLs use psycopg 3 (``pip install 'intent-rebalancer[postgres]'``).
"""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Select,
    and_,
    create_engine,
    event,
    func,
    insert,
    or_,
    select,
    text,
    update,
)
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, IntegrityError, NoSuchModuleError
from sqlalchemy.orm import Session

from keeper.exceptions import KeeperError
from keeper.intents.records import (
    LIVE_STATES,
    Base,
    Claim,
    IntentRecord,
    IntentRow,
    Transition,
    TransitionRow,
)
from keeper.intents.refunds import SettledBundleRow  # noqa: F401  (the ledger's tables)
from keeper.intents.states import CLAIMED, IntentState, check_transition

_BIGINT_MAX = 2**63 - 1
#: ``pg_advisory_xact_lock`` key serialising schema creation ("keeper" in ASCII)
_SCHEMA_LOCK = 0x6B6565706572
_KEEPER_ID_MAX = 128  # intents.claimed_by / intent_transitions.keeper_id


class StoreError(KeeperError):
    """The intent store refused an operation."""


class UnknownIntentError(StoreError):
    def __init__(self, intent_id: str) -> None:
        self.intent_id = intent_id
        super().__init__(f"intent {intent_id}: not in the store")


class NonceInUseError(StoreError):
    """Another live intent of the same owner already uses this nonce."""

    def __init__(self, owner: str, nonce: int, other_id: str | None) -> None:
        self.owner = owner
        self.nonce = nonce
        self.other_id = other_id
        super().__init__(f"nonce: {nonce} of {owner} is already used by pending intent {other_id}")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")  # readers never block the writer
    cursor.execute("PRAGMA synchronous=FULL")  # a committed transition survives power loss
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def ready_query(
    limit: int, chain_time: int, *, row_locks: bool, lands_at: int | None = None
) -> Select[Any]:
    """Ids of intents ready to batch, oldest first (``FOR UPDATE SKIP LOCKED`` with locks).

    ``lands_at``: the earliest timestamp a settlement sent now can be mined at; an intent whose
    deadline is before it can no longer be included (it waits to expire instead).
    """
    earliest = max(chain_time + 1, lands_at or 0)
    query = (
        select(IntentRow.id)
        .where(
            IntentRow.state == IntentState.ACCEPTED.value,
            IntentRow.valid_after <= chain_time,
            IntentRow.deadline >= min(earliest, _BIGINT_MAX),
        )
        .order_by(IntentRow.created_at, IntentRow.id)
        .limit(limit)
    )
    return query.with_for_update(skip_locked=True) if row_locks else query


def _parse_url(url: str) -> URL:
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise StoreError(f"store_url: not a database URL ({err})") from None
    if parsed.drivername in ("postgresql", "postgres"):
        # psycopg 3 is the driver we install and test (SQLAlchemy's default is psycopg2).
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def make_engine(url: str) -> Engine:
    parsed = _parse_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = parsed.database or ""
        if path and path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(parsed, connect_args={"timeout": 30})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    try:
        return create_engine(parsed, pool_pre_ping=True)
    except (NoSuchModuleError, ModuleNotFoundError) as err:
        hint = " (pip install 'intent-rebalancer[postgres]')" if "postgres" in url else ""
        raise StoreError(f"store_url: no driver for {parsed.drivername}: {err}{hint}") from None


def create_schema(engine: Engine) -> None:
    """Create missing tables; on PostgreSQL one keeper at a time (advisory lock)."""
    with engine.begin() as conn:
        if engine.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _SCHEMA_LOCK})
        Base.metadata.create_all(conn)


class IntentStore:
    """All reads and state changes of intents.

    Args:
        url: SQLAlchemy database URL.
        keeper_id: stable name of this keeper (claims are recorded under it).
        lease_s: how long a claim holds without renewal.
        clock: wall clock for leases and timestamps (deadlines use chain time, passed in).
    """

    def __init__(
        self,
        url: str,
        keeper_id: str,
        lease_s: float = 120.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        if not keeper_id or len(keeper_id) > _KEEPER_ID_MAX:
            raise StoreError(f"keeper_id: must be 1 to {_KEEPER_ID_MAX} characters: {keeper_id!r}")
        self.engine = make_engine(url)
        self.keeper_id = keeper_id
        self.lease_s = lease_s
        self.clock = clock
        create_schema(self.engine)

    @property
    def is_postgres(self) -> bool:
        return self.engine.dialect.name == "postgresql"

    def close(self) -> None:
        self.engine.dispose()

    # -- intake -------------------------------------------------------------------------
    def add(
        self,
        intent_id: str,
        *,
        chain_id: int,
        executor: str,
        owner: str,
        nonce: int,
        valid_after: int,
        deadline: int,
        payload: dict[str, Any],
        block: int | None = None,
    ) -> tuple[IntentRecord, bool]:
        """Store an accepted intent; idempotent by id. Returns ``(record, created)``."""
        now = self.clock()
        row = IntentRow(
            id=intent_id,
            chain_id=chain_id,
            executor=executor,
            owner=owner,
            nonce=str(nonce),
            valid_after=min(valid_after, _BIGINT_MAX),
            deadline=min(deadline, _BIGINT_MAX),
            payload=json.dumps(payload, sort_keys=True),
            state=IntentState.ACCEPTED.value,
            attempts=0,
            block_number=block,
            created_at=now,
            updated_at=now,
        )
        try:
            with Session(self.engine) as session, session.begin():
                if (existing := session.get(IntentRow, intent_id)) is not None:
                    return IntentRecord.from_row(existing), False
                session.add(row)
                session.flush()
                session.add(self._transition(intent_id, None, IntentState.ACCEPTED, now, block))
                record = IntentRecord.from_row(row)
        except IntegrityError:
            with Session(self.engine) as session:
                if (existing := session.get(IntentRow, intent_id)) is not None:
                    return IntentRecord.from_row(existing), False  # lost an insert race
                other = session.scalar(
                    select(IntentRow.id).where(
                        IntentRow.owner == owner,
                        IntentRow.nonce == str(nonce),
                        IntentRow.state.in_(LIVE_STATES),
                    )
                )
            raise NonceInUseError(owner, nonce, other) from None
        return record, True

    # -- reads --------------------------------------------------------------------------
    def get(self, intent_id: str) -> IntentRecord:
        with Session(self.engine) as session:
            row = session.get(IntentRow, intent_id)
            if row is None:
                raise UnknownIntentError(intent_id)
            return IntentRecord.from_row(row)

    def find(
        self,
        states: Iterable[IntentState] | None = None,
        owner: str | None = None,
        limit: int = 1000,
    ) -> list[IntentRecord]:
        query = select(IntentRow).order_by(IntentRow.created_at, IntentRow.id).limit(limit)
        if states is not None:
            query = query.where(IntentRow.state.in_([s.value for s in states]))
        if owner is not None:
            query = query.where(IntentRow.owner == owner)
        with Session(self.engine) as session:
            return [IntentRecord.from_row(r) for r in session.scalars(query)]

    def history(self, intent_id: str) -> list[Transition]:
        query = (
            select(TransitionRow)
            .where(TransitionRow.intent_id == intent_id)
            .order_by(TransitionRow.id)
        )
        with Session(self.engine) as session:
            return [
                Transition(
                    source=IntentState(r.source) if r.source else None,
                    target=IntentState(r.target),
                    at=r.at,
                    block_number=r.block_number,
                    tx_hash=r.tx_hash,
                    bundle_hash=r.bundle_hash,
                    reason=r.reason,
                    keeper_id=r.keeper_id,
                )
                for r in session.scalars(query)
            ]

    def counts(self) -> dict[IntentState, int]:
        totals = dict.fromkeys(IntentState, 0)
        with Session(self.engine) as session:
            for state, count in session.execute(
                select(IntentRow.state, func.count()).group_by(IntentRow.state)
            ):
                totals[IntentState(state)] = int(count)
        return totals

    # -- claims ---------------------------------------------------------------------------
    def claim(
        self,
        limit: int,
        chain_time: int,
        block: int | None = None,
        *,
        lands_at: int | None = None,
    ) -> Claim:
        """Move up to ``limit`` ready intents (valid now, deadline ahead) to ``batched``.

        ``lands_at``: the earliest timestamp of a block the batch can land in (default
        ``chain_time + 1``); intents whose deadline is before it are left to expire.
        """
        token = uuid.uuid4().hex
        now = self.clock()
        with Session(self.engine) as session, session.begin():
            moved = self._move(
                session,
                self._pick(
                    session, ready_query(limit, chain_time, row_locks=False, lands_at=lands_at)
                ),
                IntentState.ACCEPTED,
                IntentState.BATCHED,
                now=now,
                block=block,
                set_claim=token,
            )
            rows = session.scalars(select(IntentRow).where(IntentRow.id.in_(moved)))
            records = sorted(
                (IntentRecord.from_row(r) for r in rows), key=lambda r: (r.created_at, r.id)
            )
        return Claim(token=token, records=records)

    def renew(self, token: str) -> int:
        with Session(self.engine) as session, session.begin():
            result = session.execute(
                update(IntentRow)
                .where(IntentRow.claim_token == token)
                .values(lease_until=self.clock() + self.lease_s)
            )
            return int(result.rowcount)  # type: ignore[attr-defined]

    def move(
        self,
        ids: Sequence[str],
        source: IntentState,
        target: IntentState,
        *,
        token: str | None = None,
        reason: str | None = None,
        block: int | None = None,
        tx_hash: str | None = None,
        bundle_hash: str | None = None,
        target_block: int | None = None,
        count_attempt: bool = False,
    ) -> list[str]:
        """Move those of ``ids`` that are in ``source`` (and held under ``token``, if given).

        Returns the ids actually moved; the others were moved by someone else meanwhile.
        """
        for intent_id in ids:
            check_transition(intent_id, source, target)
        if not ids:
            return []
        with Session(self.engine) as session, session.begin():
            return self._move(
                session,
                list(ids),
                source,
                target,
                now=self.clock(),
                block=block,
                token=token,
                reason=reason,
                tx_hash=tx_hash,
                bundle_hash=bundle_hash,
                target_block=target_block,
                count_attempt=count_attempt,
            )

    def expire(self, chain_time: int, block: int | None = None) -> list[str]:
        """Unclaimed intents whose deadline has passed become ``expired``."""
        due = select(IntentRow.id).where(
            IntentRow.state == IntentState.ACCEPTED.value, IntentRow.deadline <= chain_time
        )
        with Session(self.engine) as session, session.begin():
            return self._move(
                session,
                self._pick(session, due),
                IntentState.ACCEPTED,
                IntentState.EXPIRED,
                now=self.clock(),
                block=block,
                reason=f"deadline passed (chain time {chain_time})",
            )

    def recover(self, block: int | None = None, *, own: bool = False) -> Claim:
        """Take back claims of dead keepers (lease ran out) and, with ``own``, of this keeper's
        past runs (call that once at start-up, never while this keeper holds live claims).

        Batched/simulated intents (nothing was sent) return to ``accepted``. Submitted ones are
        re-claimed under a new token and returned: the caller must check whether their
        transaction was included before retrying them.
        """
        now = self.clock()
        orphaned = IntentRow.lease_until < now
        if own:
            orphaned = or_(orphaned, IntentRow.claimed_by == self.keeper_id)
        with Session(self.engine) as session, session.begin():
            for state in (IntentState.BATCHED, IntentState.SIMULATED):
                stale = select(IntentRow.id).where(IntentRow.state == state.value, orphaned)
                self._move(
                    session,
                    self._pick(session, stale),
                    state,
                    IntentState.ACCEPTED,
                    now=now,
                    block=block,
                    reason="claim recovered: its keeper stopped before sending",
                    only_if=orphaned,  # renewed meanwhile: still its keeper's
                )
            in_flight = and_(IntentRow.state == IntentState.SUBMITTED.value, orphaned)
            sent = select(IntentRow.id).where(in_flight)
            token = uuid.uuid4().hex
            # Conditional, so of two keepers recovering at once only one adopts an intent.
            adopted = session.scalars(
                update(IntentRow)
                .where(IntentRow.id.in_(self._pick(session, sent)), in_flight)
                .values(
                    claim_token=token, claimed_by=self.keeper_id, lease_until=now + self.lease_s
                )
                .returning(IntentRow.id)
            )
            ids = list(adopted)
            rows = session.scalars(select(IntentRow).where(IntentRow.id.in_(ids)))
            records = sorted(
                (IntentRecord.from_row(r) for r in rows), key=lambda r: (r.created_at, r.id)
            )
        return Claim(token=token, records=records)

    def claimed(self, token: str) -> list[IntentRecord]:
        with Session(self.engine) as session:
            rows = session.scalars(select(IntentRow).where(IntentRow.claim_token == token))
            return [IntentRecord.from_row(r) for r in rows]

    # -- internals ------------------------------------------------------------------------
    def _pick(self, session: Session, ids: Select[Any]) -> Any:
        """Candidate ids for one ``UPDATE ... WHERE id IN (...)``.

        PostgreSQL: the rows are selected and locked ``FOR UPDATE SKIP LOCKED`` — rows another
        keeper is changing right now are skipped, never waited for. SQLite: the query becomes a
        subquery of the ``UPDATE`` itself (one statement; SQLite serialises writers).
        """
        if self.is_postgres:
            return list(session.scalars(ids.with_for_update(skip_locked=True)))
        return ids.scalar_subquery()

    def _transition(
        self,
        intent_id: str,
        source: IntentState | None,
        target: IntentState,
        now: float,
        block: int | None,
        reason: str | None = None,
        tx_hash: str | None = None,
        bundle_hash: str | None = None,
    ) -> TransitionRow:
        return TransitionRow(
            intent_id=intent_id,
            source=source.value if source else None,
            target=target.value,
            at=now,
            block_number=block,
            tx_hash=tx_hash,
            bundle_hash=bundle_hash,
            reason=reason,
            keeper_id=self.keeper_id,
        )

    def _move(
        self,
        session: Session,
        candidates: Any,
        source: IntentState,
        target: IntentState,
        *,
        now: float,
        block: int | None,
        token: str | None = None,
        set_claim: str | None = None,
        reason: str | None = None,
        tx_hash: str | None = None,
        bundle_hash: str | None = None,
        target_block: int | None = None,
        count_attempt: bool = False,
        only_if: ColumnElement[bool] | None = None,
    ) -> list[str]:
        values: dict[str, Any] = {"state": target.value, "updated_at": now}
        if block is not None:
            values["block_number"] = block
        if reason is not None:
            values["reason"] = reason
        for column, value in (
            ("tx_hash", tx_hash),
            ("bundle_hash", bundle_hash),
            ("target_block", target_block),
        ):
            if value is not None:
                values[column] = value
        if count_attempt:
            values["attempts"] = IntentRow.attempts + 1
        if set_claim is not None:
            values.update(
                claim_token=set_claim, claimed_by=self.keeper_id, lease_until=now + self.lease_s
            )
        elif target not in CLAIMED:  # back to the pool, or finished: the claim ends
            values.update(claim_token=None, claimed_by=None, lease_until=None)
        statement = (
            update(IntentRow)
            .where(IntentRow.id.in_(candidates), IntentRow.state == source.value)
            .values(**values)
            .returning(IntentRow.id)
        )
        if token is not None:
            statement = statement.where(IntentRow.claim_token == token)
        if only_if is not None:
            statement = statement.where(only_if)
        moved = list(session.scalars(statement))
        if moved:
            session.execute(
                insert(TransitionRow),
                [
                    {
                        "intent_id": intent_id,
                        "source": source.value,
                        "target": target.value,
                        "at": now,
                        "block_number": block,
                        "tx_hash": tx_hash,
                        "bundle_hash": bundle_hash,
                        "reason": reason,
                        "keeper_id": self.keeper_id,
                    }
                    for intent_id in moved
                ],
            )
        return moved
