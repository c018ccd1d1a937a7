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


def test_controls_from_the_command_line(tmp_path):
    state = str(tmp_path / "alice.json")
    runner = CliRunner()
    assert runner.invoke(cli, ["strategy", "pause", "--state", state]).output == "paused\n"
    out = runner.invoke(
        cli, ["strategy", "set", "--state", state, "--target", "WETH=0.7", "--target", "USDC=30%"]
    ).output
    assert '"WETH": 0.7' in out and '"paused": true' in out
    assert (
        "requested"
        in runner.invoke(cli, ["strategy", "exit", "--state", state, "--to", "USDC"]).output
    )
    bad = runner.invoke(cli, ["strategy", "set", "--state", state, "--frequency", "hourly"])
    assert bad.exit_code == 1 and "config key 'frequency'" in bad.output
