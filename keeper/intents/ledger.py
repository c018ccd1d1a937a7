"""What happened, kept beside the intents: settlements, per-intent fills, strategy decisions and
the control requests users signed.

The tables live in the intent store's database and are created with its schema (the store's
``create_all``: a new table appears on an existing database at the next start; no column of an
existing table changes). Amounts are base-unit integers kept as decimal text (uint256 does not
fit a BIGINT); USD values are floats at the settlement block's pool prices.
"""

from __future__ import annotations

import json
import time
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy import (
    BigInteger,
    Engine,
    Float,
    ForeignKey,
    Integer,
    String,
    Text,
    UniqueConstraint,
    select,
)
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Mapped, Session, mapped_column

from keeper.intents.records import Base


class SettlementRow(Base):
    __tablename__ = "settlements"

    tx_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    bundle_hash: Mapped[str | None] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger, index=True)
    block_time: Mapped[int] = mapped_column(BigInteger, index=True)
    gas_used: Mapped[int] = mapped_column(BigInteger)
    effective_gas_price: Mapped[str] = mapped_column(String(78))
    eth_usd: Mapped[float] = mapped_column(Float)
    first_submitted_block: Mapped[int | None] = mapped_column(BigInteger)
    #: JSON: {"direct": [...], "routed": [...], "interactions": [...]} (see SettlementFlows)
    flows: Mapped[str] = mapped_column(Text)
    recorded_at: Mapped[float] = mapped_column(Float)


class FillRow(Base):
    __tablename__ = "settlement_fills"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    tx_hash: Mapped[str] = mapped_column(ForeignKey("settlements.tx_hash"), index=True)
    intent_id: Mapped[str | None] = mapped_column(String(66), index=True)
    owner: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[str] = mapped_column(String(78))
    #: JSON list of Leg dicts (token, symbol, limit, amount, usd)
    sells: Mapped[str] = mapped_column(Text)
    buys: Mapped[str] = mapped_column(Text)
    fee: Mapped[str] = mapped_column(String(78))
    fee_token: Mapped[str | None] = mapped_column(String(42))
    fee_usd: Mapped[float] = mapped_column(Float)
    gas_share: Mapped[int] = mapped_column(BigInteger)
    #: JSON Counterfactual dict: what the same trade would have cost without the batch
    counterfactual: Mapped[str] = mapped_column(Text)


class StrategyEventRow(Base):
    __tablename__ = "strategy_events"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    owner: Mapped[str] = mapped_column(String(42), index=True)
    at: Mapped[float] = mapped_column(Float, index=True)
    kind: Mapped[str] = mapped_column(String(16))  # "decision" | "proposal"
    explanation: Mapped[str] = mapped_column(Text)
    data: Mapped[str] = mapped_column(Text)


class ControlRequestRow(Base):
    __tablename__ = "control_requests"
    __table_args__ = (UniqueConstraint("owner", "nonce", name="uq_control_owner_nonce"),)

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    owner: Mapped[str] = mapped_column(String(42), index=True)
    nonce: Mapped[str] = mapped_column(String(78))
    action: Mapped[str] = mapped_column(String(16))
    at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class Leg:
    token: str
    symbol: str
    #: the signed bound: maximum for a sell, minimum for a buy (base units)
    limit: int
    #: what moved on-chain (base units, from IntentSettled)
    amount: int
    usd: float
    decimals: int = 18

    @property
    def whole(self) -> float:
        return self.amount / 10**self.decimals

    @property
    def whole_limit(self) -> float:
        return self.limit / 10**self.decimals


@dataclass(frozen=True)
class Counterfactual:
    """The same intent without the batch, at the same block's pools.

    ``own_*``: one transaction of this user alone through the keeper's own optimal router (the
    fair comparison); ``router02_*``: one Uniswap V2 Router02 transaction per leg (the naive
    baseline, kept as a second line)."""

    own_received_usd: float = 0.0
    own_gas: int = 0
    own_gas_usd: float = 0.0
    router02_received_usd: float = 0.0
    router02_gas: int = 0
    router02_gas_usd: float = 0.0


@dataclass(frozen=True)
class Fill:
    tx_hash: str
    intent_id: str | None
    owner: str
    nonce: int
    sells: tuple[Leg, ...]
    buys: tuple[Leg, ...]
    fee: int
    fee_token: str | None
    fee_usd: float
    gas_share: int
    counterfactual: Counterfactual = field(default_factory=Counterfactual)

    @property
    def sold_usd(self) -> float:
        return sum(leg.usd for leg in self.sells)

    @property
    def received_usd(self) -> float:
        return sum(leg.usd for leg in self.buys)

    @property
    def cost_usd(self) -> float:
        """What the user gave up at the block's mid prices: sold (fee included) - received."""
        return self.sold_usd - self.received_usd

    @property
    def own_cost_usd(self) -> float:
        c = self.counterfactual
        return self.sold_usd - c.own_received_usd + c.own_gas_usd

    @property
    def router02_cost_usd(self) -> float:
        c = self.counterfactual
        return self.sold_usd - c.router02_received_usd + c.router02_gas_usd

    @property
    def savings_usd(self) -> float:
        """Against one transaction of this user alone through our own router (the fair figure)."""
        return self.own_cost_usd - self.cost_usd

    @property
    def router02_savings_usd(self) -> float:
        return self.router02_cost_usd - self.cost_usd


@dataclass(frozen=True)
class Settlement:
    tx_hash: str
    bundle_hash: str | None
    block_number: int
    block_time: int
    gas_used: int
    effective_gas_price: int
    eth_usd: float
    first_submitted_block: int | None
    flows: dict[str, Any]
    fills: tuple[Fill, ...] = ()

    @property
    def gas_usd(self) -> float:
        return self.gas_used * self.effective_gas_price / 1e18 * self.eth_usd

    @property
    def blocks_to_inclusion(self) -> int | None:
        if self.first_submitted_block is None:
            return None
        return self.block_number - self.first_submitted_block


@dataclass(frozen=True)
class StrategyEvent:
    id: int
    owner: str
    at: float
    kind: str
    explanation: str
    data: dict[str, Any]


class ControlReplayError(ValueError):
    """A control request's nonce was used before."""


def _legs(text: str) -> tuple[Leg, ...]:
    return tuple(
        Leg(
            token=d["token"],
            symbol=d["symbol"],
            limit=int(d["limit"]),
            amount=int(d["amount"]),
            usd=float(d["usd"]),
            decimals=int(d.get("decimals", 18)),
        )
        for d in json.loads(text)
    )


def _legs_json(legs: Sequence[Leg]) -> str:
    return json.dumps(
        [{**asdict(leg), "limit": str(leg.limit), "amount": str(leg.amount)} for leg in legs]
    )


class Ledger:
    """Reads and writes of what happened (same database as :class:`IntentStore`)."""

    def __init__(self, engine: Engine, clock: Any = time.time) -> None:
        self.engine = engine
        self.clock = clock

    # -- settlements ------------------------------------------------------------------------
    def add_settlement(self, settlement: Settlement) -> bool:
        """Record a settlement and its fills once; False if it was already recorded."""
        row = SettlementRow(
            tx_hash=settlement.tx_hash.lower(),
            bundle_hash=settlement.bundle_hash,
            block_number=settlement.block_number,
            block_time=settlement.block_time,
            gas_used=settlement.gas_used,
            effective_gas_price=str(settlement.effective_gas_price),
            eth_usd=settlement.eth_usd,
            first_submitted_block=settlement.first_submitted_block,
            flows=json.dumps(settlement.flows),
            recorded_at=self.clock(),
        )
        try:
            with Session(self.engine) as session, session.begin():
                if session.get(SettlementRow, row.tx_hash) is not None:
                    return False
                session.add(row)
                session.flush()
                for fill in settlement.fills:
                    session.add(
                        FillRow(
                            tx_hash=row.tx_hash,
                            intent_id=fill.intent_id,
                            owner=fill.owner,
                            nonce=str(fill.nonce),
                            sells=_legs_json(fill.sells),
                            buys=_legs_json(fill.buys),
                            fee=str(fill.fee),
                            fee_token=fill.fee_token,
                            fee_usd=fill.fee_usd,
                            gas_share=fill.gas_share,
                            counterfactual=json.dumps(asdict(fill.counterfactual)),
                        )
                    )
        except IntegrityError:  # another keeper recorded it first
            return False
        return True

    def settlement(self, tx_hash: str) -> Settlement | None:
        with Session(self.engine) as session:
            row = session.get(SettlementRow, tx_hash.lower())
            if row is None:
                return None
            fills = session.scalars(
                select(FillRow).where(FillRow.tx_hash == row.tx_hash).order_by(FillRow.id)
            )
            return self._settlement(row, [self._fill(f) for f in fills])

    def settlements(
        self, owner: str | None = None, since: int = 0, until: int | None = None, limit: int = 200
    ) -> list[Settlement]:
        """Newest first; with ``owner``, only settlements holding one of their intents (and
        only that owner's fills). ``since``/``until``: block timestamps (``until`` exclusive)."""
        query = select(SettlementRow).where(SettlementRow.block_time >= since)
        if until is not None:
            query = query.where(SettlementRow.block_time < until)
        if owner is not None:
            query = query.where(
                SettlementRow.tx_hash.in_(select(FillRow.tx_hash).where(FillRow.owner == owner))
            )
        query = query.order_by(SettlementRow.block_number.desc()).limit(limit)
        with Session(self.engine) as session:
            rows = list(session.scalars(query))
            fills = select(FillRow).where(FillRow.tx_hash.in_([r.tx_hash for r in rows]))
            if owner is not None:
                fills = fills.where(FillRow.owner == owner)
            by_tx: dict[str, list[Fill]] = {}
            for f in session.scalars(fills.order_by(FillRow.id)):
                by_tx.setdefault(f.tx_hash, []).append(self._fill(f))
            return [self._settlement(r, by_tx.get(r.tx_hash, [])) for r in rows]

    @staticmethod
    def _fill(row: FillRow) -> Fill:
        return Fill(
            tx_hash=row.tx_hash,
            intent_id=row.intent_id,
            owner=row.owner,
            nonce=int(row.nonce),
            sells=_legs(row.sells),
            buys=_legs(row.buys),
            fee=int(row.fee),
            fee_token=row.fee_token,
            fee_usd=row.fee_usd,
            gas_share=row.gas_share,
            counterfactual=Counterfactual(**json.loads(row.counterfactual)),
        )

    @staticmethod
    def _settlement(row: SettlementRow, fills: list[Fill]) -> Settlement:
        return Settlement(
            tx_hash=row.tx_hash,
            bundle_hash=row.bundle_hash,
            block_number=row.block_number,
            block_time=row.block_time,
            gas_used=row.gas_used,
            effective_gas_price=int(row.effective_gas_price),
            eth_usd=row.eth_usd,
            first_submitted_block=row.first_submitted_block,
            flows=json.loads(row.flows),
            fills=tuple(fills),
        )

    # -- strategy decisions and proposals -----------------------------------------------------
    def add_event(
        self, owner: str, kind: str, explanation: str, data: dict[str, Any] | None = None
    ) -> StrategyEvent:
        row = StrategyEventRow(
            owner=owner,
            at=self.clock(),
            kind=kind,
            explanation=explanation,
            data=json.dumps(data or {}, default=str),
        )
        with Session(self.engine) as session, session.begin():
            session.add(row)
            session.flush()
            return self._event(row)

    def events(self, owner: str, limit: int = 50, since: float = 0.0) -> list[StrategyEvent]:
        """Newest first."""
        query = (
            select(StrategyEventRow)
            .where(StrategyEventRow.owner == owner, StrategyEventRow.at >= since)
            .order_by(StrategyEventRow.at.desc(), StrategyEventRow.id.desc())
            .limit(limit)
        )
        with Session(self.engine) as session:
            return [self._event(r) for r in session.scalars(query)]

    @staticmethod
    def _event(row: StrategyEventRow) -> StrategyEvent:
        return StrategyEvent(
            id=row.id,
            owner=row.owner,
            at=row.at,
            kind=row.kind,
            explanation=row.explanation,
            data=json.loads(row.data),
        )

    # -- signed control requests ----------------------------------------------------------------
    def use_control_nonce(self, owner: str, nonce: int, action: str) -> None:
        """Record a control request's nonce; raises :class:`ControlReplayError` if seen."""
        try:
            with Session(self.engine) as session, session.begin():
                session.add(
                    ControlRequestRow(
                        owner=owner.lower(), nonce=str(nonce), action=action, at=self.clock()
                    )
                )
        except IntegrityError:
            raise ControlReplayError(f"nonce: {nonce} was already used by {owner}") from None
