"""Swap calldata per leg, and the ``keeper quote`` command line."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner
from eth_abi import decode

from keeper.cli import cli
from keeper.routing import Leg, RoutingError
from keeper.routing.calldata import leg_interactions
from tests.keeper.routing.builders import TOKENS, snapshot, v2, v3

RECIPIENT = "0x" + "ee" * 20
ROUTER = "0x" + "77" * 20


def leg(kind: str, token_in: str, token_out: str) -> Leg:
    return Leg("0x" + "99" * 20, kind, 500, token_in, token_out, 1000, 990, 0, 0)


def test_v2_leg_transfers_to_the_pair_then_swaps_the_exact_output_to_the_recipient():
    transfer, swap = leg_interactions(leg("v2", TOKENS[1], TOKENS[0]), RECIPIENT)

    assert transfer.target == TOKENS[1] and transfer.value == 0
    assert decode(["address", "uint256"], transfer.call_data[4:]) == ("0x" + "99" * 20, 1000)
    out0, out1, to, data = decode(["uint256", "uint256", "address", "bytes"], swap.call_data[4:])
    assert (out0, out1, to, data) == (990, 0, RECIPIENT, b"")  # token_out sorts first: token0
    _, swap = leg_interactions(leg("v2", TOKENS[0], TOKENS[1]), RECIPIENT)
    assert decode(["uint256", "uint256", "address", "bytes"], swap.call_data[4:])[:2] == (0, 990)


def test_v3_leg_approves_the_router_and_calls_exact_input_single_with_the_quote_as_minimum():
    approve, call = leg_interactions(leg("v3", TOKENS[0], TOKENS[1]), RECIPIENT, swap_router=ROUTER)

    assert approve.target == TOKENS[0]
    assert decode(["address", "uint256"], approve.call_data[4:]) == (ROUTER, 1000)
    assert call.target == ROUTER
    (params,) = decode(
        ["(address,address,uint24,address,uint256,uint256,uint256,uint160)"], call.call_data[4:]
    )
    assert params[:4] == (TOKENS[0], TOKENS[1], 500, RECIPIENT)
    assert params[5:] == (1000, 990, 0)
    with pytest.raises(RoutingError, match="swap_router"):
        leg_interactions(leg("v3", TOKENS[0], TOKENS[1]), RECIPIENT)


@pytest.fixture
def pools_file(tmp_path):
    path = tmp_path / "pools.json"
    snapshot(
        [
            v2(0, 0, 1, 10**21, 2 * 10**21),
            v2(1, 0, 1, 5 * 10**20, 10**21, 500),
            v3(2, 0, 1, 6931, [(6000, 7800, 10**21)]),
        ],
        n_tokens=2,
    ).save(path)
    return str(path)


def test_quote_prints_json_with_the_amount_out_legs_and_gas(pools_file):
    result = CliRunner().invoke(
        cli,
        [
            "quote",
            "--pools",
            pools_file,
            "--sell",
            "AAA",
            "--buy",
            "BBB",
            "--amount",
            "100",  # whole tokens (18 decimals)
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert int(data["amount_out"]) == sum(int(leg["amount_out"]) for leg in data["legs"])
    assert sum(int(leg["amount_in"]) for leg in data["legs"]) == 10**20
    assert len(data["legs"]) >= 2 and data["gas_estimate"] > 0
    assert {"pool", "amount_in", "amount_out"} <= set(data["legs"][0])


def test_quote_prints_a_table_by_default(pools_file):
    base = ["quote", "--pools", pools_file, "--sell", "AAA", "--buy", "BBB"]
    result = CliRunner().invoke(cli, [*base, "--amount", "10**6"])
    assert result.exit_code == 1
    assert "--amount=10**6: expected a number of whole tokens, e.g. 1.5" in result.output
    result = CliRunner().invoke(cli, [*base, "--amount", "1.5"])
    assert result.exit_code == 0, result.output
    first = result.output.splitlines()[0]
    assert first.startswith("sell 1.5 AAA -> buy ") and " BBB  (" in first
    # the same trade given in base units, for scripts
    again = CliRunner().invoke(cli, [*base, "--amount", str(15 * 10**17), "--base-units"])
    assert again.output == result.output


def test_quote_takes_whole_tokens_and_gwei_and_refuses_what_it_would_truncate(pools_file):
    base = ["quote", "--pools", pools_file, "--sell", "AAA", "--buy", "BBB", "--json"]
    result = CliRunner().invoke(cli, [*base, "--amount", "2,000.25"])
    assert result.exit_code == 0, result.output
    assert int(json.loads(result.output)["amount_in"]) == 200_025 * 10**16
    too_fine = CliRunner().invoke(cli, [*base, "--amount", "0.0000000000000000001"])
    assert too_fine.exit_code == 1
    assert "AAA has 18 decimals; 19 given (would be truncated)" in too_fine.output
    wei = CliRunner().invoke(cli, [*base, "--amount", "1", "--gas-price", "30000000000"])
    assert wei.exit_code == 1 and "more than 100,000 gwei: give it in gwei" in wei.output


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--sell", "XYZ", "--buy", "BBB", "--amount", "5"], "unknown token 'XYZ'"),
        (["--sell", "AAA", "--buy", "BBB", "--amount", "0"], "amount=0"),
        (["--sell", "AAA", "--buy", "BBB", "--amount", "-3"], "amount=-3"),
        (["--sell", "AAA", "--buy", "BBB", "--amount", str(2**256)], "exceeds uint256"),
        (
            ["--sell", "AAA", "--buy", "BBB", "--amount", "5", "--gas-price", "1"],
            "cannot value gas",
        ),
    ],
)
def test_quote_fails_with_a_clear_message_and_a_non_zero_exit(pools_file, args, message):
    result = CliRunner().invoke(cli, ["quote", "--pools", pools_file, *args])
    assert result.exit_code != 0
    assert message in result.output


def test_quote_reports_a_malformed_snapshot_by_field(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"tokens": [], "pools": [{"kind": "v2", "address": "0x12"}]}))
    result = CliRunner().invoke(
        cli, ["quote", "--pools", str(bad), "--sell", "A", "--buy", "B", "--amount", "1"]
    )
    assert result.exit_code == 1 and "snapshot field 'pools.0.v2.address'" in result.output
    result = CliRunner().invoke(cli, ["quote", "--sell", "A", "--buy", "B", "--amount", "1"])
    assert result.exit_code == 1 and "--pools" in result.output


def test_quote_names_an_rpc_that_does_not_answer():
    down = "http://127.0.0.1:9"  # the discard port: nothing listens
    result = CliRunner().invoke(
        cli, ["quote", "--rpc", down, "--sell", "WETH", "--buy", "USDC", "--amount", "1"]
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: --rpc '{down}': no Ethereum JSON-RPC node answers there (connection error); "
        "is the node up?"
    )
