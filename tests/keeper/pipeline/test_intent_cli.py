"""`keeper intent sign|submit|list|cancel` against a real executor and a real intake server."""

from __future__ import annotations

import json

import pytest
from ape import chain as ape_chain
from click.testing import CliRunner

from keeper.cli import cli
from keeper.intents.chainstate import Web3ChainState
from keeper.intents.intake import IntakeServer, IntakeService
from keeper.intents.store import IntentStore
from keeper.intents.validation import IntentPolicy
from tests.keeper.pipeline.conftest import E18


@pytest.fixture
def rpc_url():
    return ape_chain.provider.web3.provider.endpoint_uri


def intake(tmp_path, users, executor, name: str) -> tuple[IntakeServer, IntentStore]:
    store = IntentStore(f"sqlite:///{tmp_path / name}", keeper_id="k")
    policy = IntentPolicy(chain_id=users.chain_id, executor=executor.address)
    service = IntakeService(
        store, policy, Web3ChainState(ape_chain.provider.web3, executor.address), users.now
    )
    return IntakeServer(service).start(), store


def test_a_user_signs_submits_lists_and_cancels_an_intent_from_the_command_line(
    tmp_path, rpc_url, users, executor, alice, weth, usdc
):
    users.fund(alice, weth, 2 * E18)
    runner = CliRunner()
    signed_file = tmp_path / "intent.json"
    result = runner.invoke(
        cli,
        ["intent", "sign", "--account", "TEST::2", "--rpc-url", rpc_url,
         "--executor", executor.address, "--sell", f"{weth.address}:1.5",
         "--buy", f"{usdc.address}:4000", "--nonce", "77", "--out", str(signed_file)],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    body = json.loads(signed_file.read_text())
    assert body["intent"]["owner"] == alice.address
    assert body["intent"]["sells"][0]["amount"] == str(15 * 10**17)
    assert body["intent"]["buys"][0]["amount"] == str(4000 * 10**6)

    server, store = intake(tmp_path, users, executor, "a.db")
    try:
        result = runner.invoke(cli, ["intent", "submit", str(signed_file), "--url", server.url])
        assert result.exit_code == 0 and "accepted 0x" in result.output, result.output
        listed = runner.invoke(cli, ["intent", "list", "--url", server.url])
        assert "nonce     77  accepted" in listed.output
    finally:
        server.stop()
        store.close()

    result = runner.invoke(
        cli,
        ["intent", "cancel", "--account", "TEST::2", "--rpc-url", rpc_url, "--nonce", "77",
         "--executor", executor.address],
    )  # fmt: skip
    assert result.exit_code == 0 and "nonce 77 cancelled" in result.output, result.output
    assert executor.isNonceUsed(alice, 77)

    server, store = intake(tmp_path, users, executor, "b.db")
    try:
        result = runner.invoke(cli, ["intent", "submit", str(signed_file), "--url", server.url])
        assert result.exit_code == 1
        assert "rejected: intent.nonce" in result.output
    finally:
        server.stop()
        store.close()


def test_a_smart_wallets_signer_signs_for_it_and_intake_accepts_or_names_the_signature(
    tmp_path, rpc_url, project, owner, users, executor, vault, alice, weth, usdc
):
    wallet = owner.deploy(project.TestSmartWallet, alice)  # TEST::2 is Alice: its signer
    weth.mint(wallet, 2 * E18, sender=owner)
    wallet.execute(weth, weth.approve.encode_input(vault, 2**256 - 1), sender=alice)
    wallet.execute(vault, vault.approve.encode_input(weth, 2**160 - 1, 2**40), sender=alice)
    runner = CliRunner()
    signed_file = tmp_path / "wallet.json"
    sign = ["intent", "sign", "--account", "TEST::2", "--rpc-url", rpc_url,
            "--executor", executor.address, "--sell", f"{weth.address}:1",
            "--buy", f"{usdc.address}:3000", "--out", str(signed_file)]  # fmt: skip
    result = runner.invoke(cli, [*sign, "--owner", wallet.address])
    assert result.exit_code == 0, result.output
    assert json.loads(signed_file.read_text())["intent"]["owner"] == wallet.address

    server, store = intake(tmp_path, users, executor, "w.db")
    try:
        result = runner.invoke(cli, ["intent", "submit", str(signed_file), "--url", server.url])
        assert result.exit_code == 0 and "accepted 0x" in result.output, result.output
        wallet.setAccepting(False, sender=alice)
        runner.invoke(cli, [*sign, "--owner", wallet.address, "--nonce", "9"])
        result = runner.invoke(cli, ["intent", "submit", str(signed_file), "--url", server.url])
        assert result.exit_code == 1
        assert "rejected: signature:" in result.output and "ERC-1271" in result.output
    finally:
        server.stop()
        store.close()

    for bad, problem in (("0x1234", "expected a 0x address"), ("0x" + "77" * 20, "no code")):
        result = runner.invoke(cli, [*sign, "--owner", bad])
        assert result.exit_code == 1 and "--owner" in result.output, result.output
        assert problem in result.output


def test_a_malformed_leg_is_an_error_naming_the_option(rpc_url, executor):
    result = CliRunner().invoke(
        cli,
        ["intent", "sign", "--account", "TEST::2", "--rpc-url", rpc_url,
         "--executor", executor.address, "--sell", "WETH:lots", "--buy", "USDC:1"],
    )  # fmt: skip
    assert result.exit_code == 1
    assert "--sell 'WETH:lots': expected TOKEN:AMOUNT" in result.output
