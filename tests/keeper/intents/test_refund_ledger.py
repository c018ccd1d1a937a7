"""The refund ledger: exact pro-rata shares, balances, debits reserved / spent / void, and a
ledger that is the same after the process that wrote it is gone."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from keeper.intents.refunds import (
    FEE_CREDIT,
    PAYOUT,
    Debit,
    RefundBook,
    ReportedRefund,
    split_pro_rata,
)
from keeper.intents.store import IntentStore

ALICE, BOB = "0x" + "a1" * 20, "0x" + "b0" * 20
BUNDLE = "0x" + "cd" * 32
SETTLE_TX, LATER_TX = "0x" + "01" * 32, "0x" + "02" * 32


@given(
    st.integers(min_value=0, max_value=10**24),
    st.lists(st.integers(min_value=0, max_value=10**6), min_size=1, max_size=30),
)
def test_pro_rata_parts_add_up_to_the_whole_and_each_is_within_one_wei(amount, weights):
    parts = split_pro_rata(amount, weights)
    assert sum(parts) == amount
    total = sum(weights) or len(weights)
    for part, weight in zip(parts, weights if sum(weights) else [1] * len(weights), strict=True):
        assert abs(part * total - amount * weight) < total


def record(book: RefundBook, amount: int, status: str = "received") -> int:
    gas = {"i-alice": (ALICE, 40_000), "i-bob": (BOB, 60_000)}
    refund = ReportedRefund("local", amount, 100, status, "0x" + "ee" * 20)
    return book.record_refunds(BUNDLE, [refund], gas, block=101)


def test_a_refund_is_split_by_gas_and_credited_to_each_intents_owner(store: IntentStore):
    book = RefundBook(store.engine)
    book.bundle_landed(BUNDLE, SETTLE_TX, 100, first_submitted=98)
    assert record(book, 1_000_001) == 1_000_001
    assert book.shares(BUNDLE) == {"i-alice": 400_000, "i-bob": 600_001}
    assert book.balances() == {ALICE.lower(): 400_000, BOB.lower(): 600_001}
    assert book.inclusion_latency(BUNDLE) == 2
    # the same report again changes nothing; a revised amount replaces the split
    assert record(book, 1_000_001) == 0
    assert record(book, 2_000_000) == 999_999
    assert sum(book.shares(BUNDLE).values()) == 2_000_000
    assert book.open_bundles(block=102, every=1, window=100) == []  # all received: closed


def test_a_pending_refund_keeps_its_bundle_open_until_received(store: IntentStore):
    book = RefundBook(store.engine)
    book.bundle_landed(BUNDLE, SETTLE_TX, 100, first_submitted=100)
    assert book.open_bundles(block=101, every=5, window=100) == [BUNDLE]
    record(book, 500, status="pending")
    assert book.open_bundles(block=102, every=5, window=100) == []  # asked at 101
    assert book.open_bundles(block=106, every=5, window=100) == [BUNDLE]
    assert book.open_bundles(block=200, every=5, window=100) == [BUNDLE]
    assert book.open_bundles(block=201, every=5, window=100) == []  # window passed: closed


def test_debits_reserve_then_spend_or_void_and_balances_follow(store: IntentStore):
    book = RefundBook(store.engine)
    book.bundle_landed(BUNDLE, SETTLE_TX, 100, None)
    record(book, 1_000_000)
    credit = Debit(ALICE, FEE_CREDIT, 150_000, intent_id="i-alice-2")
    payout = Debit(BOB, PAYOUT, 600_000, payout_tx_hash="0x" + "03" * 32)
    book.reserve(LATER_TX, [credit, payout], block=110)
    assert book.balances() == {ALICE.lower(): 250_000}  # reserved counts as passed on
    voided = book.resolve(LATER_TX, landed=False)
    assert {d.kind for d in voided} == {FEE_CREDIT, PAYOUT}
    assert book.balances() == {ALICE.lower(): 400_000, BOB.lower(): 600_000}
    book.reserve(LATER_TX, [credit, payout], block=111)
    book.resolve(LATER_TX, landed=True, block=112)
    assert book.balances() == {ALICE.lower(): 250_000}
    assert book.totals() == {
        "received": 1_000_000,
        "attributed": 1_000_000,
        "credited": 150_000,
        "paid_out": 600_000,
        "owed": 250_000,
    }
    per = book.per_intent(["i-alice", "i-alice-2", "i-bob"])
    assert per["i-alice"].earned_wei == 400_000 and per["i-alice"].bundles == (BUNDLE,)
    assert per["i-alice-2"].credited_wei == 150_000


def test_the_ledger_survives_the_process_that_wrote_it(open_store, db_url):
    first = open_store("k1")
    book = RefundBook(first.engine)
    book.bundle_landed(BUNDLE, SETTLE_TX, 100, 99)
    record(book, 1_000_000)
    book.reserve(LATER_TX, [Debit(BOB, PAYOUT, 600_000)], block=110)
    first.close()
    again = RefundBook(open_store("k2", url=db_url).engine)
    assert again.balances() == {ALICE.lower(): 400_000}
    assert again.debits(state="reserved") == [Debit(BOB.lower(), PAYOUT, 600_000)]
    again.resolve(LATER_TX, landed=False)  # the restarted keeper finds it never landed
    assert again.balances() == {ALICE.lower(): 400_000, BOB.lower(): 600_000}
