"""Recorded relay answers parse into the wire models, or into the typed errors they carry."""

from __future__ import annotations

import json

import pytest

from keeper.relay.exceptions import RelayAuthError, RelayRpcError
from keeper.relay.models import (
    CallBundleResult,
    SendBundleParams,
    SendBundleResult,
)
from keeper.relay.transport import parse_response

from .conftest import recorded

URL = "https://relay.example"


def answer(name: str, method: str = "eth_sendBundle"):
    rec = recorded(name)
    return parse_response(URL, method, rec["http_status"], json.dumps(rec["body"]))


def test_send_bundle_answer_parses_to_its_bundle_hash():
    result = SendBundleResult.model_validate(answer("send_bundle_ok.json"))
    assert result.bundle_hash == (
        "0x2228f5d8954ce31dc1601a8ba264dbd401bf1428388ce88238932815c5d6f23f"
    )
    assert result.smart is None


def test_send_bundle_answer_with_builders_keeps_the_smart_flag():
    result = SendBundleResult.model_validate(answer("send_bundle_smart.json"))
    assert result.smart == "true"


def test_call_bundle_answer_parses_decimal_wei_and_gas():
    result = CallBundleResult.model_validate(answer("call_bundle_ok.json", "eth_callBundle"))
    assert result.total_gas_used == 42_000
    assert result.coinbase_diff == 20_000_000_000_126_000
    assert result.bundle_gas_price == 476_190_476_193
    assert result.state_block_number == 5_221_585
    assert [r.gas_used for r in result.results] == [21_000, 21_000]
    assert sum(r.coinbase_diff for r in result.results) == result.coinbase_diff
    assert result.first_revert is None
    # Round trip: the model writes the relay's own shapes back (decimal strings, camelCase).
    wire = result.wire()
    assert wire["coinbaseDiff"] == "20000000000126000"
    assert wire["results"][0]["gasUsed"] == 21_000


def test_call_bundle_answer_with_a_revert_reports_the_first_reverting_transaction():
    result = CallBundleResult.model_validate(answer("call_bundle_revert.json", "eth_callBundle"))
    first = result.first_revert
    assert first is not None
    assert first is result.results[1]
    assert first.error == "execution reverted"
    # Error(string) selector, then the router's reason
    assert first.revert is not None and first.revert.startswith("0x08c379a0")
    assert bytes.fromhex(first.revert[2:]).find(b"INSUFFICIENT_OUTPUT_AMOUNT") > 0
    assert not result.results[0].reverted


def test_private_transaction_answer_is_the_tx_hash():
    assert answer("private_tx_ok.json", "eth_sendPrivateTransaction").startswith("0x45df1bc3")
    assert answer("cancel_private_ok.json", "eth_cancelPrivateTransaction") is True


@pytest.mark.parametrize(
    ("name", "message_start"),
    [
        ("error_signature_check.json", "error in signature check 0x02A7"),
        ("error_signature_required.json", "signature is required"),
        ("error_legacy_403.json", "error in signature check 0xEcDC"),
    ],
)
def test_signature_refusals_raise_an_auth_error(name, message_start):
    with pytest.raises(RelayAuthError) as caught:
        answer(name)
    assert caught.value.message.startswith(message_start)
    assert caught.value.url == URL


def test_legacy_error_body_has_no_code_but_keeps_the_http_status():
    with pytest.raises(RelayAuthError) as caught:
        answer("error_legacy_403.json")
    assert caught.value.code is None
    assert caught.value.http_status == 403


@pytest.mark.parametrize(
    ("name", "code", "fragment"),
    [
        ("error_simulation_502.json", -32000, "status code: 502"),
        ("error_unable_to_decode.json", -32000, "unable to decode bundle"),
        ("error_internal.json", -32000, "internal server error"),
    ],
)
def test_other_relay_errors_raise_a_typed_rpc_error_with_code(name, code, fragment):
    with pytest.raises(RelayRpcError) as caught:
        answer(name, "eth_callBundle")
    assert not isinstance(caught.value, RelayAuthError)
    assert caught.value.code == code
    assert fragment in caught.value.message
    assert "eth_callBundle" in str(caught.value)


def test_send_bundle_params_serialise_to_the_documented_request_shape():
    params = SendBundleParams(
        txs=["0x01", "0x02"],
        block_number=11_943_373,
        min_timestamp=0,
        max_timestamp=1_615_920_932,
        reverting_tx_hashes=None,
    ).wire()
    assert params == {
        "txs": ["0x01", "0x02"],
        "blockNumber": "0xb63dcd",
        "minTimestamp": 0,
        "maxTimestamp": 1_615_920_932,
    }


def test_send_bundle_params_name_the_bad_field():
    with pytest.raises(ValueError, match="txs"):
        SendBundleParams.model_validate({"txs": ["no-hex"], "blockNumber": "0x1"})
    with pytest.raises(ValueError, match="blockNumber"):
        SendBundleParams.model_validate({"txs": ["0x01"], "blockNumber": "soon"})
