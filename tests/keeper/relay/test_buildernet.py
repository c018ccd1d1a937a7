"""BuilderNet's eth_sendBundle extensions and refund queries: recorded shapes parse into the
client's models, bad values are refused naming the field, builders get what they accept."""

from __future__ import annotations

import json

import pytest
from pydantic import ValidationError

from keeper.relay import Bundle, RelayClient
from keeper.relay.client import BuilderTarget
from keeper.relay.exceptions import InvalidBundleError
from keeper.relay.models import (
    DelayedRefundsResult,
    FeeRefundsResult,
    FeeRefundTotals,
    SendBundleParams,
    SendBundleResult,
)
from keeper.relay.transport import parse_response

from .conftest import recorded, signed_transfer
from .stub import Reply, StubRelay

URL = "https://relay.example"


def answer(name: str, method: str) -> object:
    rec = recorded(name)
    return parse_response(URL, method, rec["http_status"], json.dumps(rec["body"]))


def test_the_documented_send_bundle_request_parses_and_writes_back_the_same_fields():
    params = recorded("buildernet_send_bundle_request.json")["body"]["params"][0]
    model = SendBundleParams.model_validate(params)
    assert model.refund_percent == 90
    assert model.replacement_nonce == 2
    assert model.delayed_refund is False
    assert model.refund_tx_hashes == ["0x" + "ab" * 32]
    assert model.refund_recipient == "0xa273A268CE96E54cF6a7D879B7d016F57E396F48"
    assert model.refund_identity == "0xD2824D2D7D6399a4b9A47F258B870D2AFb213948"
    assert model.block_number == 0x1361BD3
    wire = model.wire()
    assert {k: wire[k] for k in params} == params


def test_the_send_bundle_answer_keeps_received_timestamp_ms():
    result = SendBundleResult.model_validate(answer("buildernet_send_bundle_ok.json", "x"))
    assert result.received_timestamp_ms == pytest.approx(1718030000123.456)
    assert result.bundle_hash.startswith("0x2228f5d8")


def test_refund_query_answers_parse_into_their_models():
    by_bundle = FeeRefundsResult.model_validate(
        answer("buildernet_fee_refunds_by_bundle.json", "buildernet_getFeeRefundsByBundle")
    )
    (refund,) = by_bundle.refunds
    assert refund.amount == 10**16
    assert refund.block_number == 0x13DDAA4
    assert refund.status == "pending"
    assert by_bundle.cursor == "0x13ddaa4"
    totals = FeeRefundTotals.model_validate(
        answer("buildernet_fee_refund_totals.json", "buildernet_getFeeRefundTotalsByRecipient")
    )
    assert totals.pending == 0x17812EA4FBBE314
    assert totals.received == 0x108D1B27B63A213
    assert totals.max_block_number == 0x13DDB08
    delayed = DelayedRefundsResult.model_validate(
        answer("buildernet_delayed_refunds.json", "buildernet_getDelayedRefunds")
    )
    assert delayed.refunds[0].status == "received"
    assert delayed.indexed_up_to == 0x13DDB08
    assert delayed.next_cursor == "0x13ddaa5"


def test_a_refund_row_with_an_unknown_status_is_refused_naming_it():
    row = recorded("buildernet_fee_refunds_by_bundle.json")["body"]["result"]
    row["refunds"][0]["status"] = "paid"
    with pytest.raises(ValidationError, match="status"):
        FeeRefundsResult.model_validate(row)


@pytest.mark.parametrize("bad", [0, 100, -5, 50.5, True, "50"])
def test_refund_percent_outside_1_to_99_is_refused_naming_the_field(sender, bad):
    with pytest.raises(InvalidBundleError) as caught:
        Bundle.of([signed_transfer(sender, 0)], refund_percent=bad)
    assert caught.value.field == "refundPercent"
    assert "1 to 99" in str(caught.value)


@pytest.mark.parametrize("bad", [0, 100])
def test_the_wire_model_refuses_refund_percent_outside_1_to_99(bad):
    with pytest.raises(ValidationError) as caught:
        SendBundleParams.model_validate(
            {"txs": ["0x01"], "blockNumber": "0x1", "refundPercent": bad}
        )
    assert caught.value.errors()[0]["loc"] == ("refundPercent",)


def test_refund_fields_are_checked_against_the_bundle(sender):
    txs = [signed_transfer(sender, 0), signed_transfer(sender, 1)]
    cases = [
        ({"refund_percent": 50, "refund_tx_hashes": ["0x" + "00" * 32]}, "refundTxHashes"),
        ({"refund_percent": 50, "refund_recipient": "0x1234"}, "refundRecipient"),
        ({"refund_recipient": "0x" + "11" * 20}, "refundRecipient"),
        ({"replacement_nonce": 3}, "replacementNonce"),
        ({"dropping_tx_hashes": ["0x" + "00" * 32]}, "droppingTxHashes"),
    ]
    for options, field_name in cases:
        with pytest.raises(InvalidBundleError) as caught:
            Bundle.of(txs, **options)
        assert caught.value.field == field_name, options
    two = Bundle.of(txs).tx_hashes
    with pytest.raises(InvalidBundleError, match="at most 1"):
        Bundle.of(txs, refund_percent=50, refund_tx_hashes=two)


@pytest.fixture
def stubs():
    made: list[StubRelay] = []

    def make(body: object) -> StubRelay:
        made.append(StubRelay([Reply(200, body)]))
        return made[-1]

    yield make
    for stub in made:
        stub.close()


def test_refund_fields_go_only_to_builders_that_accept_them(stubs, sender, reputation_key):
    ok = recorded("buildernet_send_bundle_ok.json")["body"]
    buildernet, plain = stubs(ok), stubs(ok)
    client = RelayClient(
        [BuilderTarget(buildernet.url, "buildernet", refunds=True), BuilderTarget(plain.url)],
        reputation_key,
        timeout=2.0,
    )
    recipient = "0x" + "11" * 20
    txs = [signed_transfer(sender, 0), signed_transfer(sender, 1)]
    first = Bundle.of(txs).tx_hashes[0]
    bundle = Bundle.of(
        txs,
        refund_percent=90,
        refund_recipient=recipient,
        refund_tx_hashes=[first],
        delayed_refund=True,
    )
    submission = client.send_bundle(bundle, 10)
    sent = json.loads(buildernet.seen[0].body)["params"][0]
    assert sent["refundPercent"] == 90
    assert sent["refundRecipient"] == recipient
    assert sent["refundTxHashes"] == [first]
    assert sent["delayedRefund"] is True
    other = json.loads(plain.seen[0].body)["params"][0]
    assert not {k for k in other if k.startswith("refund") or k == "delayedRefund"}
    assert submission.received_ms() == {
        buildernet.url: pytest.approx(1718030000123.456),
        plain.url: pytest.approx(1718030000123.456),
    }


def test_cancellation_goes_only_to_builders_that_take_it(stubs, reputation_key):
    takes, refuses = stubs({"jsonrpc": "2.0", "id": 1, "result": None}), stubs({})
    client = RelayClient(
        [BuilderTarget(takes.url), BuilderTarget(refuses.url, cancellation=False)],
        reputation_key,
        timeout=2.0,
    )
    assert client.cancel_bundle("2f1b4c33-1f86-4a43-9d3a-4f2f0b6a7d10") == {}
    assert len(takes.seen) == 1 and refuses.seen == []


def test_refund_queries_go_to_the_endpoint_that_answers_them(stubs, reputation_key):
    body = recorded("buildernet_fee_refunds_by_bundle.json")["body"]
    builder, relay = stubs({}), stubs(body)
    client = RelayClient(
        [BuilderTarget(builder.url, refunds=True), BuilderTarget(relay.url, refund_queries=True)],
        reputation_key,
        timeout=2.0,
    )
    result = client.fee_refunds_by_bundle("0x" + "22" * 32)
    assert result.refunds[0].amount == 10**16
    request = json.loads(relay.seen[0].body)
    assert request["method"] == "buildernet_getFeeRefundsByBundle"
    assert request["params"] == ["0x" + "22" * 32]
    assert builder.seen == []
    with pytest.raises(InvalidBundleError, match="blockRangeFrom"):
        client.delayed_refunds("0x" + "11" * 20, bundle_hash="0x" + "22" * 32)
