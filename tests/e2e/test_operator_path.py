"""The operator's line from docs/KEEPER.md, as written: ``ape run keeper --network <choice> --
--config keeper.yaml`` (the keeper's options after ``--``), against `keeper dev up`."""

from __future__ import annotations

import subprocess

import pytest

from tests.e2e.conftest import ROOT

pytestmark = [pytest.mark.slow]


def test_ape_run_keeper_takes_its_options_after_a_double_dash_and_logs_text_fields(dev_shell):
    shell, info = dev_shell
    config = shell.cwd / "keeper.yaml"
    config.write_text(
        "intake: {port: 0}\nmetrics: {port: 0}\n"
        f"data_dir: {shell.cwd / 'ape-keeper'}\nrelay: {{urls: ['{info['relay']}']}}\n"
    )
    command = [
        str(ROOT / ".venv" / "bin" / "ape"), "run", "keeper", "--network", info["rpc"], "--",
        "--config", str(config), "--signer", "TEST::1", "--deployments", info["deployments"],
        "--max-blocks", "2", "--log-format", "text",
    ]  # fmt: skip
    done = subprocess.run(
        command, cwd=ROOT, env=shell.env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    started = [line for line in done.stderr.splitlines() if "keeper started" in line]
    assert started and f'executor="{info["executor"]}"' in started[0] and "chainId=1" in started[0]
