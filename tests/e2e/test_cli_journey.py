"""The user's loop with the CLI alone, against `keeper dev up`: see the portfolio, get a
proposal, review and sign it (with the keeper's signer, or in a wallet from the typed-data file
alone), submit, settle; then an emergency exit settles and the strategy holds."""

from __future__ import annotations

import json

import pytest

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.slow]


def _chain(info: dict) -> list[str]:
    return ["--rpc", info["rpc"], "--deployments", info["deployments"]]


def _strategy(info: dict, owner: str) -> list[str]:
    return ["--strategy", info["strategy"], "--owner", owner]


def _sign_in_wallet(shell, info: dict, user: str, proposal: str, name: str) -> None:
    """What a wallet does: sign the eth_signTypedData_v4 file as is (eth-account's
    sign_typed_data, from the JSON file alone), then submit it with its signature."""
    from eth_account import Account

    from keeper.relay.sandbox import dev_accounts

    shell.run("intent", "typed-data", "--from", proposal, "--out", f"{name}.typed.json")
    document = json.loads((shell.cwd / f"{name}.typed.json").read_text())
    key = dev_accounts(4)[int(info["users"][user]["account"].removeprefix("TEST::"))].key
    signature = Account.sign_typed_data(key, full_message=document).signature.hex()
    out = shell.run(
        "intent", "submit", "--typed-data", f"{name}.typed.json", "--signature",
        "0x" + signature.removeprefix("0x"), "--url", info["intake"], "--wait", "120",
    ).stdout  # fmt: skip
    assert out.rstrip().endswith(": settled"), out


def _sign_with_cli(shell, info: dict, user: str, proposal: str, name: str) -> None:
    account = info["users"][user]["account"]
    signed = shell.run(
        "intent", "sign", "--from", proposal, "--account", account, "--rpc-url", info["rpc"],
        "--deployments", info["deployments"], "--yes", "--out", f"{name}.signed.json",
    )  # fmt: skip
    review = signed.stderr
    assert "sell ≤ " in review and " WETH (≈ $" in review and "buy ≥ " in review, review
    assert "fee cap: none" in review and "(in 60 minutes)" in review, review
    assert f"executor {info['executor']}" in review and "chain 1" in review, review
    out = shell.run(
        "intent", "submit", f"{name}.signed.json", "--url", info["intake"], "--wait", "120"
    ).stdout
    assert out.rstrip().endswith(": settled"), out


@pytest.mark.parametrize(
    ("user", "sign"), [("alice", _sign_with_cli), ("bob", _sign_in_wallet)], ids=["cli", "wallet"]
)
def test_a_proposal_is_reviewed_signed_settled_then_an_emergency_exit_settles_and_holds(
    dev_shell, user, sign
):
    shell, info = dev_shell
    owner = info["users"][user]["address"]
    shown = shell.run("portfolio", "show", *_strategy(info, owner), *_chain(info)).stdout
    assert "WETH" in shown and "outside band" in shown and "total value $" in shown

    proposed = shell.run(
        "propose", *_strategy(info, owner), *_chain(info), "--out", f"{user}-1.json"
    ).stdout
    assert ": rebalance to " in proposed.splitlines()[0], proposed
    assert json.loads((shell.cwd / f"{user}-1.json").read_text())["owner"] == owner
    sign(shell, info, user, f"{user}-1.json", f"{user}-1")

    requested = shell.run(
        "strategy", "exit", *_strategy(info, owner), "--to", "USDC", *_chain(info)
    ).stdout
    assert requested.startswith("emergency exit to USDC requested")
    proposed = shell.run(
        "propose", *_strategy(info, owner), *_chain(info), "--keeper-url", info["intake"],
        "--out", f"{user}-exit.json",
    ).stdout  # fmt: skip
    assert proposed.startswith("emergency exit: sell everything for USDC"), proposed
    sign(shell, info, user, f"{user}-exit.json", f"{user}-exit")

    shown = shell.run("portfolio", "show", *_strategy(info, owner), *_chain(info)).stdout
    weights = {line.split()[0]: line.split()[3] for line in shown.splitlines()[1:-1]}
    assert weights["USDC"] == "100.00%", shown
    held = shell.run("propose", *_strategy(info, owner), *_chain(info), "--out", f"{user}-3.json")
    assert "holding after the emergency exit to USDC" in held.stdout, held.stdout
    assert "resume" in held.stdout and not (shell.cwd / f"{user}-3.json").exists()


EXAMPLES = sorted((ROOT / "examples" / "strategies").glob("*.yaml"))


@pytest.mark.parametrize("example", EXAMPLES, ids=lambda p: p.name)
def test_the_example_strategies_run_against_the_dev_stack_as_shipped(dev_shell, example):
    shell, info = dev_shell
    owner = info["users"]["bob"]["address"]
    history = shell.cwd / f"{example.stem}-prices.db"  # not beside the example, in the repo
    for command in (["portfolio", "show"], ["propose", "--history", str(history)]):
        result = shell.run(
            *command, "--strategy", str(example), "--owner", owner, *_chain(info), check=False
        )
        assert result.returncode == 0, f"{example.name}: {result.stderr}"
        assert "Traceback" not in result.stderr
