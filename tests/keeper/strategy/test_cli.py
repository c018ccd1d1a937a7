"""The CLI: ``keeper strategy check`` and the control commands (no chain needed)."""

from __future__ import annotations

from pathlib import Path

from click.testing import CliRunner

from keeper.cli import cli

ROOT = Path(__file__).resolve().parents[3]


def test_strategy_check_accepts_an_example_and_summarises_it():
    result = CliRunner().invoke(
        cli, ["strategy", "check", str(ROOT / "examples/strategies/btc.yaml")]
    )
    assert result.exit_code == 0, result.output
    assert "strategy 'btc-core' (preset btc)" in result.output
    assert "component derivatives: 30% daily" in result.output and result.output.endswith("ok\n")


def test_strategy_check_names_the_bad_key_without_a_traceback():
    bad = ROOT / "tests/data/strategy/bad_unknown_token.yaml"
    result = CliRunner().invoke(cli, ["strategy", "check", str(bad)])
    assert result.exit_code == 1
    assert "config key 'targets.DOGE': unknown token 'DOGE'" in result.output
    assert "Traceback" not in result.output


def _deployments(tmp_path: Path) -> str:
    from keeper.market.deployments import Deployments, describe_market, save_deployments

    path = tmp_path / "deployments" / "1.json"
    save_deployments(Deployments(chain_id=1, market=describe_market(chain_id=1)), path)
    return str(path)


def test_controls_from_the_command_line(tmp_path):
    state = str(tmp_path / "alice.json")
    deployments = _deployments(tmp_path)
    runner = CliRunner()
    assert runner.invoke(cli, ["strategy", "pause", "--state", state]).output == "paused\n"
    out = runner.invoke(
        cli, ["strategy", "set", "--state", state, "--target", "WETH=0.7", "--target", "USDC=30%"]
    ).output
    assert '"WETH": 0.7' in out and '"paused": true' in out
    assert (
        "requested"
        in runner.invoke(
            cli,
            ["strategy", "exit", "--state", state, "--to", "USDC", "--deployments", deployments],
        ).output
    )
    bad = runner.invoke(cli, ["strategy", "set", "--state", state, "--frequency", "hourly"])
    assert bad.exit_code == 1 and "config key 'frequency'" in bad.output


def test_an_exit_into_a_token_the_market_does_not_trade_is_refused(tmp_path):
    args = ["strategy", "exit", "--state", str(tmp_path / "s.json"), "--to", "LINK"]
    result = CliRunner().invoke(cli, [*args, "--deployments", _deployments(tmp_path)])
    assert result.exit_code == 1
    assert result.output == (
        "error: --to 'LINK': not a token of this market (WETH, USDC, USDT, WBTC, DAI, FOT)\n"
    )
    assert not (tmp_path / "s.json").exists()


def test_after_an_emergency_exit_the_strategy_holds_until_resumed_or_new_targets(tmp_path):
    from datetime import UTC, datetime

    from keeper.strategy.config import load_strategy
    from keeper.strategy.controls import ControlStore
    from keeper.strategy.engine import after_proposal

    cfg = load_strategy(ROOT / "examples/strategies/custom-kelly.yaml")
    store = ControlStore(tmp_path / "s.json")
    state = store.emergency_exit("USDC")
    store.save(after_proposal(state, datetime(2026, 1, 1, tzinfo=UTC), cfg))
    held = store.load()
    assert held.exit_to is None
    assert held.exit_hold.startswith("holding after the emergency exit to USDC")
    assert store.set_targets({"WETH": 0.5, "USDC": 0.5}).exit_hold is None
    store.save(held)
    assert store.resume().exit_hold is None
