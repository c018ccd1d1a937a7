"""The refund ledger: builder refunds per bundle, each intent's share, and what was passed on.

Every wei a builder reports for one of the keeper's bundles (``buildernet_getFeeRefundsByBundle``)
is recorded per (bundle, source) in ``bundle_refunds`` and split over the bundle's intents by the
settlement's per-order gas model (:mod:`keeper.settlement.attribution`) into ``refund_shares``,
owned by each intent's signer. What is passed back is recorded in ``refund_debits``: a credit
against a later intent's keeper fee, or a payout transfer in a later settlement's bundle. A debit
is ``reserved`` when its bundle is submitted, ``spent`` when that settlement is confirmed and
``void`` when it is given up on, so a crash at any point loses nothing: an owner's balance is
always shares minus debits that are reserved or spent, read from the one database.

Amounts are wei as decimal text (a refund can exceed a signed 64-bit integer).
"""

from __future__ import annotations

import time
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from sqlalchemy import (
    BigInteger,
    Engine,
    Float,
    Index,
    Integer,
    String,
    delete,
    select,
    update,
)
from sqlalchemy.orm import Mapped, Session, mapped_column

from keeper.intents.records import Base, IntentRow
from keeper.intents.states import IntentState

#: debit kinds
FEE_CREDIT = "fee_credit"
PAYOUT = "payout"


def split_pro_rata(amount: int, weights: Sequence[int]) -> list[int]:
    """``amount`` split in proportion to ``weights`` (largest remainders get the odd wei):
    every part is within 1 of its exact share and the parts sum to exactly ``amount``."""
    if amount < 0:
        raise ValueError(f"amount must not be negative, got {amount}")
    if not weights:
        return []
    total = sum(weights)
    if total <= 0:
        weights, total = [1] * len(weights), len(weights)
    parts = [amount * w // total for w in weights]
    order = sorted(range(len(weights)), key=lambda k: (-(amount * weights[k] % total), k))
    for k in order[: amount - sum(parts)]:
        parts[k] += 1
    return parts


class SettledBundleRow(Base):
    """A landed settlement bundle: inclusion latency, and whether its refunds are still due."""

    __tablename__ = "settled_bundles"

    bundle_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    tx_hash: Mapped[str] = mapped_column(String(66))
    block_number: Mapped[int] = mapped_column(BigInteger)
    first_submitted_block: Mapped[int | None] = mapped_column(BigInteger)
    #: last block at which the relay was asked for this bundle's refunds (None: not yet)
    checked_block: Mapped[int | None] = mapped_column(BigInteger)
    open: Mapped[int] = mapped_column(Integer, default=1, index=True)


class BundleRefundRow(Base):
    __tablename__ = "bundle_refunds"

    bundle_hash: Mapped[str] = mapped_column(String(66), primary_key=True)
    source: Mapped[str] = mapped_column(String(200), primary_key=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    amount_wei: Mapped[str] = mapped_column(String(78))
    status: Mapped[str] = mapped_column(String(16))
    recipient: Mapped[str] = mapped_column(String(42))
    recorded_at: Mapped[float] = mapped_column(Float)


class RefundShareRow(Base):
    __tablename__ = "refund_shares"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    bundle_hash: Mapped[str] = mapped_column(String(66), index=True)
    source: Mapped[str] = mapped_column(String(200))
    intent_id: Mapped[str] = mapped_column(String(66), index=True)
    owner: Mapped[str] = mapped_column(String(42), index=True)
    block_number: Mapped[int] = mapped_column(BigInteger)
    gas: Mapped[int] = mapped_column(BigInteger)
    amount_wei: Mapped[str] = mapped_column(String(78))

    __table_args__ = (Index("uq_refund_share", "bundle_hash", "source", "intent_id", unique=True),)


class RefundDebitRow(Base):
    __tablename__ = "refund_debits"

    id: Mapped[int] = mapped_column(
        BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    )
    owner: Mapped[str] = mapped_column(String(42), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    amount_wei: Mapped[str] = mapped_column(String(78))
    intent_id: Mapped[str | None] = mapped_column(String(66), index=True)
    #: the settlement transaction the debit rides in (its outcome decides spent / void)
    tx_hash: Mapped[str] = mapped_column(String(66), index=True)
    payout_tx_hash: Mapped[str | None] = mapped_column(String(66))
    #: a fee credit: base units of the intent's fee token it took off the fee
    fee_units: Mapped[str | None] = mapped_column(String(78))
    state: Mapped[str] = mapped_column(String(16), index=True)
    block_number: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[float] = mapped_column(Float)


@dataclass(frozen=True)
class ReportedRefund:
    """One refund a builder reported for a bundle."""

    source: str
    amount: int
    block_number: int
    status: str
    recipient: str


@dataclass(frozen=True)
class IntentRefund:
    """What one intent earned and was given back (for `keeper intent list` and the API)."""

    earned_wei: int = 0
    credited_wei: int = 0  # taken off this intent's own keeper fee
    bundles: tuple[str, ...] = ()
    credited_fee_units: int = 0  # the same credit in base units of the intent's fee token


@dataclass(frozen=True)
class Debit:
    owner: str
    kind: str
    amount: int
    intent_id: str | None = None
    payout_tx_hash: str | None = None
    fee_units: int | None = None


class RefundBook:
    """Reads and writes of the refund ledger (shares the intent store's database)."""

    def __init__(self, engine: Engine) -> None:
        # the tables are created with the store's schema (create_schema: missing tables are
        # added to an existing database, which is how the ledger arrives on an older store)
        self.engine = engine

    # -- settled bundles ------------------------------------------------------------------
    def bundle_landed(
        self, bundle_hash: str, tx_hash: str, block: int, first_submitted: int | None
    ) -> None:
        """Record a confirmed settlement bundle (idempotent)."""
        with Session(self.engine) as session, session.begin():
            if session.get(SettledBundleRow, bundle_hash.lower()) is None:
                session.add(
                    SettledBundleRow(
                        bundle_hash=bundle_hash.lower(),
                        tx_hash=tx_hash.lower(),
                        block_number=block,
                        first_submitted_block=first_submitted,
                        checked_block=None,
                        open=1,
                    )
                )

    def open_bundles(self, block: int, every: int, window: int) -> list[str]:
        """Bundles whose refunds to ask for at ``block``: landed less than ``window`` blocks
        ago and not asked for in the last ``every`` blocks. Older ones are closed."""
        with Session(self.engine) as session, session.begin():
            session.execute(
                update(SettledBundleRow)
                .where(SettledBundleRow.open == 1, SettledBundleRow.block_number < block - window)
                .values(open=0)
            )
            rows = session.scalars(select(SettledBundleRow).where(SettledBundleRow.open == 1))
            return [
                r.bundle_hash
                for r in rows
                if r.checked_block is None or block - r.checked_block >= every
            ]

    def inclusion_latency(self, bundle_hash: str) -> int | None:
        """Blocks from the bundle's first submission to its inclusion."""
        with Session(self.engine) as session:
            row = session.get(SettledBundleRow, bundle_hash.lower())
        if row is None or row.first_submitted_block is None:
            return None
        return row.block_number - row.first_submitted_block

    # -- refunds and shares ---------------------------------------------------------------
    def record_refunds(
        self,
        bundle_hash: str,
        reported: Iterable[ReportedRefund],
        gas_of: Mapping[str, tuple[str, int]],
        block: int,
    ) -> int:
        """Record what builders reported for ``bundle_hash`` and split each amount over the
        bundle's intents (``gas_of``: intent id -> (owner, modelled gas)). Returns the wei
        newly recorded (0 when nothing changed). All in one transaction."""
        key = bundle_hash.lower()
        ids = sorted(gas_of)
        added = 0
        with Session(self.engine) as session, session.begin():
            for refund in reported:
                row = session.get(BundleRefundRow, (key, refund.source))
                before = int(row.amount_wei) if row is not None else 0
                if row is None:
                    row = BundleRefundRow(bundle_hash=key, source=refund.source)
                    session.add(row)
                row.block_number = refund.block_number
                row.amount_wei = str(refund.amount)
                row.status = refund.status
                row.recipient = refund.recipient.lower()
                row.recorded_at = time.time()
                if refund.amount == before or not ids:
                    continue
                added += refund.amount - before
                session.execute(
                    delete(RefundShareRow).where(
                        RefundShareRow.bundle_hash == key, RefundShareRow.source == refund.source
                    )
                )
                parts = split_pro_rata(refund.amount, [gas_of[i][1] for i in ids])
                for intent_id, part in zip(ids, parts, strict=True):
                    session.add(
                        RefundShareRow(
                            bundle_hash=key,
                            source=refund.source,
                            intent_id=intent_id,
                            owner=gas_of[intent_id][0].lower(),
                            block_number=refund.block_number,
                            gas=gas_of[intent_id][1],
                            amount_wei=str(part),
                        )
                    )
            settled = session.get(SettledBundleRow, key)
            if settled is not None:
                settled.checked_block = block
                if reported and all(r.status == "received" for r in reported):
                    settled.open = 0
        return added

    def bundle_refunds(self, bundle_hash: str) -> list[ReportedRefund]:
        with Session(self.engine) as session:
            rows = session.scalars(
                select(BundleRefundRow).where(BundleRefundRow.bundle_hash == bundle_hash.lower())
            )
            return [
                ReportedRefund(r.source, int(r.amount_wei), r.block_number, r.status, r.recipient)
                for r in rows
            ]

    def shares(self, bundle_hash: str) -> dict[str, int]:
        """intent id -> wei of ``bundle_hash``'s refunds attributed to it."""
        out: dict[str, int] = defaultdict(int)
        with Session(self.engine) as session:
            for r in session.scalars(
                select(RefundShareRow).where(RefundShareRow.bundle_hash == bundle_hash.lower())
            ):
                out[r.intent_id] += int(r.amount_wei)
        return dict(out)

    # -- balances and debits --------------------------------------------------------------
    def balances(self, owners: Iterable[str] | None = None) -> dict[str, int]:
        """Owner -> wei earned and not yet passed on (reserved debits count as passed on)."""
        wanted = None if owners is None else {o.lower() for o in owners}
        totals: dict[str, int] = defaultdict(int)
        with Session(self.engine) as session:
            shares = select(RefundShareRow.owner, RefundShareRow.amount_wei)
            debits = select(RefundDebitRow.owner, RefundDebitRow.amount_wei).where(
                RefundDebitRow.state.in_(("reserved", "spent"))
            )
            if wanted is not None:
                shares = shares.where(RefundShareRow.owner.in_(wanted))
                debits = debits.where(RefundDebitRow.owner.in_(wanted))
            for owner, amount in session.execute(shares):
                totals[owner] += int(amount)
            for owner, amount in session.execute(debits):
                totals[owner] -= int(amount)
        return {o: v for o, v in totals.items() if v != 0 or wanted is not None}

    def reserve(self, tx_hash: str, debits: Iterable[Debit], block: int) -> None:
        """Record debits riding in settlement ``tx_hash`` (before its bundle is sent)."""
        now = time.time()
        with Session(self.engine) as session, session.begin():
            for d in debits:
                session.add(
                    RefundDebitRow(
                        owner=d.owner.lower(),
                        kind=d.kind,
                        amount_wei=str(d.amount),
                        intent_id=d.intent_id,
                        tx_hash=tx_hash.lower(),
                        payout_tx_hash=d.payout_tx_hash,
                        fee_units=None if d.fee_units is None else str(d.fee_units),
                        state="reserved",
                        block_number=block,
                        created_at=now,
                    )
                )

    def resolve(
        self, tx_hash: str, landed: bool, block: int | None = None, *, void: bool = False
    ) -> list[Debit]:
        """The settlement ``tx_hash`` landed (its debits are spent) or was given up (void).

        ``void=True`` also takes debits already voided: a settlement given up on that still
        landed later (a leaked transaction) did pass them on."""
        states = ("reserved", "void") if void else ("reserved",)
        with Session(self.engine) as session, session.begin():
            rows = list(
                session.scalars(
                    select(RefundDebitRow).where(
                        RefundDebitRow.tx_hash == tx_hash.lower(),
                        RefundDebitRow.state.in_(states),
                    )
                )
            )
            for row in rows:
                row.state = "spent" if landed else "void"
                if block is not None:
                    row.block_number = block
            return [_debit(r) for r in rows]

    def debits(self, owner: str | None = None, state: str | None = None) -> list[Debit]:
        query = select(RefundDebitRow).order_by(RefundDebitRow.id)
        if owner is not None:
            query = query.where(RefundDebitRow.owner == owner.lower())
        if state is not None:
            query = query.where(RefundDebitRow.state == state)
        with Session(self.engine) as session:
            return [_debit(r) for r in session.scalars(query)]

    def per_intent(self, intent_ids: Iterable[str]) -> dict[str, IntentRefund]:
        """Refund earned by and credit given to each intent."""
        ids = list(intent_ids)
        earned: dict[str, int] = defaultdict(int)
        credited: dict[str, int] = defaultdict(int)
        units: dict[str, int] = defaultdict(int)
        bundles: dict[str, set[str]] = defaultdict(set)
        with Session(self.engine) as session:
            for r in session.scalars(
                select(RefundShareRow).where(RefundShareRow.intent_id.in_(ids))
            ):
                earned[r.intent_id] += int(r.amount_wei)
                bundles[r.intent_id].add(r.bundle_hash)
            for d in session.scalars(
                select(RefundDebitRow).where(
                    RefundDebitRow.intent_id.in_(ids),
                    RefundDebitRow.kind == FEE_CREDIT,
                    RefundDebitRow.state == "spent",
                )
            ):
                credited[d.intent_id or ""] += int(d.amount_wei)
                units[d.intent_id or ""] += int(d.fee_units or 0)
        return {
            i: IntentRefund(earned[i], credited[i], tuple(sorted(bundles[i])), units[i])
            for i in ids
            if i in earned or i in credited
        }

    def totals(self) -> dict[str, int]:
        """Ledger totals in wei: received (reported), attributed, credited, paid out, owed."""
        with Session(self.engine) as session:
            received = sum(int(a) for a in session.scalars(select(BundleRefundRow.amount_wei)))
            attributed = sum(int(a) for a in session.scalars(select(RefundShareRow.amount_wei)))
            spent = session.execute(
                select(RefundDebitRow.kind, RefundDebitRow.amount_wei).where(
                    RefundDebitRow.state == "spent"
                )
            ).all()
        credited = sum(int(a) for k, a in spent if k == FEE_CREDIT)
        paid = sum(int(a) for k, a in spent if k == PAYOUT)
        return {
            "received": received,
            "attributed": attributed,
            "credited": credited,
            "paid_out": paid,
            "owed": attributed - credited - paid,
        }

    def settled_intents(self, bundle_hash: str) -> list[tuple[str, str, str]]:
        """(intent id, owner, payload) of the intents a bundle settled."""
        with Session(self.engine) as session:
            rows = session.execute(
                select(IntentRow.id, IntentRow.owner, IntentRow.payload).where(
                    IntentRow.bundle_hash == bundle_hash.lower(),
                    IntentRow.state == IntentState.SETTLED.value,
                )
            ).all()
        return [(r[0], r[1], r[2]) for r in rows]


def _debit(row: RefundDebitRow) -> Debit:
    return Debit(
        row.owner,
        row.kind,
        int(row.amount_wei),
        row.intent_id,
        row.payout_tx_hash,
        None if row.fee_units is None else int(row.fee_units),
    )
