"""Rows and read-only records of the intent store (see :mod:`keeper.intents.store`)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import BigInteger, Float, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from keeper.intents.states import TERMINAL, IntentState

LIVE_STATES = [s.value for s in IntentState if s not in TERMINAL]


class Base(DeclarativeBase):
    pass


class IntentRow(Base):
    __tablename__ = "intents"

    id: Mapped[str] = mapped_column(String(66), primary_key=True)  # EIP-712 digest
    chain_id: Mapped[int] = mapped_column(BigInteger)
    executor: Mapped[str] = mapped_column(String(42))
    owner: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[str] = mapped_column(String(78))  # uint256 as decimal text
    valid_after: Mapped[int] = mapped_column(BigInteger)
    deadline: Mapped[int] = mapped_column(BigInteger, index=True)
    payload: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), index=True)
    reason: Mapped[str | None] = mapped_column(Text)
    claim_token: Mapped[str | None] = mapped_column(String(32), index=True)
    claimed_by: Mapped[str | None] = mapped_column(String(128))
    lease_until: Mapped[float | None] = mapped_column(Float)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    bundle_hash: Mapped[str | None] = mapped_column(String(66))
    target_block: Mapped[int | None] = mapped_column(BigInteger)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float, index=True)
    updated_at: Mapped[float] = mapped_column(Float)

    __table_args__ = (
        # One live intent per (owner, nonce): the chain would settle only one of them anyway.
        Index(
            "uq_intents_live_nonce",
            "chain_id",
            "executor",
            "owner",
            "nonce",
            unique=True,
            sqlite_where=state.in_(LIVE_STATES),
            postgresql_where=state.in_(LIVE_STATES),
        ),
    )


class TransitionRow(Base):
    __tablename__ = "intent_transitions"

    # BIGSERIAL on PostgreSQL (a long-lived shared store); SQLite needs INTEGER for its rowid.
    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    intent_id: Mapped[str] = mapped_column(ForeignKey("intents.id"), index=True)
    source: Mapped[str | None] = mapped_column(String(16))
    target: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    tx_hash: Mapped[str | None] = mapped_column(String(66))
    bundle_hash: Mapped[str | None] = mapped_column(String(66))
    reason: Mapped[str | None] = mapped_column(Text)
    keeper_id: Mapped[str | None] = mapped_column(String(128))


@dataclass(frozen=True)
class IntentRecord:
    id: str
    chain_id: int
    executor: str
    owner: str
    nonce: int
    valid_after: int
    deadline: int
    payload: dict[str, Any]
    state: IntentState
    reason: str | None
    claimed_by: str | None
    attempts: int
    tx_hash: str | None
    bundle_hash: str | None
    target_block: int | None
    block_number: int | None
    created_at: float
    updated_at: float

    @classmethod
    def from_row(cls, row: IntentRow) -> IntentRecord:
        return cls(
            id=row.id,
            chain_id=row.chain_id,
            executor=row.executor,
            owner=row.owner,
            nonce=int(row.nonce),
            valid_after=row.valid_after,
            deadline=row.deadline,
            payload=json.loads(row.payload),
            state=IntentState(row.state),
            reason=row.reason,
            claimed_by=row.claimed_by,
            attempts=row.attempts,
            tx_hash=row.tx_hash,
            bundle_hash=row.bundle_hash,
            target_block=row.target_block,
            block_number=row.block_number,
            created_at=row.created_at,
            updated_at=row.updated_at,
        )


@dataclass(frozen=True)
class Transition:
    source: IntentState | None
    target: IntentState
    at: float
    block_number: int | None
    tx_hash: str | None
    bundle_hash: str | None
    reason: str | None
    keeper_id: str | None


@dataclass(frozen=True)
class Claim:
    """Intents held by one keeper under one token (compare-and-set key for later moves)."""

    token: str
    records: list[IntentRecord]

    @property
    def ids(self) -> list[str]:
        return [r.id for r in self.records]
