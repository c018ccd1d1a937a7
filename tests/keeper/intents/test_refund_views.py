"""Refunds per intent in the history API (GET /intents, GET /intents/<id>) and in
`keeper intent list`."""

from __future__ import annotations

import requests
from click.testing import CliRunner

from keeper.cli import cli
from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.refunds import FEE_CREDIT, Debit, RefundBook, ReportedRefund
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy

OWNER = "0x" + "a1" * 20
BUNDLE = "0x" + "cd" * 32


def test_an_intents_refund_shows_in_the_api_and_the_list(tmp_path):
    store = IntentStore(f"sqlite:///{tmp_path / 'i.db'}", keeper_id="k")
    for name, nonce in (("0x" + "01" * 32, 1), ("0x" + "02" * 32, 2)):
        store.add(
            name, chain_id=1, executor="0x" + "ee" * 20, owner=OWNER, nonce=nonce,
            valid_after=0, deadline=10**10, payload={"intent": {}},
        )  # fmt: skip
    earned, later = "0x" + "01" * 32, "0x" + "02" * 32
    book = RefundBook(store.engine)
    book.record_refunds(
        BUNDLE,
        [ReportedRefund("local", 123_000_000_000_000, 9, "received", OWNER)],
        {earned: (OWNER, 40_000)},
        block=10,
    )
    book.reserve("0x" + "99" * 32, [Debit(OWNER, FEE_CREDIT, 23_000, later, fee_units=7)], 11)
    book.resolve("0x" + "99" * 32, landed=True)
    policy = IntentPolicy(chain_id=1, executor="0x" + "ee" * 20)
    server = IntakeServer(IntakeService(store, policy, None, lambda: 0)).start()
    try:
        one = requests.get(f"{server.url}/intents/{earned}", timeout=5).json()
        assert one["refund"] == {
            "earnedWei": "123000000000000",
            "creditedWei": "0",
            "creditedFeeUnits": "0",
            "bundles": [BUNDLE],
        }
        listed = {
            r["id"]: r for r in requests.get(f"{server.url}/intents", timeout=5).json()["intents"]
        }
        assert listed[later]["refund"]["creditedFeeUnits"] == "7"
        output = CliRunner().invoke(cli, ["intent", "list", "--url", server.url]).output
        assert "refund earned 0.000123000 ETH, credited 0.000000000 ETH" in output
        assert output.count("refund earned") == 2
    finally:
        server.stop()
        store.close()
