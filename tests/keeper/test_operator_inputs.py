"""The operator's inputs: a port already taken, an unquoted hex address in YAML, text logs that
keep their fields, and the ape run keeper line with options after ``--``."""

from __future__ import annotations

import importlib.util
import logging
import socket
from pathlib import Path

import pytest
from click.testing import CliRunner

from keeper.chain.connect import PortTakenError, check_port
from keeper.cli import cli
from keeper.config import load_settings
from keeper.daemon.cli import TextFormatter

ROOT = Path(__file__).resolve().parents[2]
EXECUTOR = "0x5FbDB2315678afecb367f032d93F642f64180aa3"


@pytest.fixture
def taken_port():
    with socket.socket() as held:
        held.bind(("127.0.0.1", 0))
        held.listen()
        yield held.getsockname()[1]


def test_a_port_in_use_is_refused_naming_the_port_and_the_setting(taken_port):
    with pytest.raises(PortTakenError, match=rf"^--rpc-port {taken_port}: port already taken"):
        check_port(taken_port, "--rpc-port")
    check_port(0, "--rpc-port")  # 0: any free port, nothing to check


def test_keeper_run_with_its_intake_port_taken_is_one_line(tmp_path, taken_port):
    config = tmp_path / "keeper.yaml"
    config.write_text(f"intake: {{port: {taken_port}}}\ndata_dir: {tmp_path}\n")
    result = CliRunner().invoke(cli, ["run", "--config", str(config)])
    assert result.exit_code == 1
    assert result.output == (
        f"error: intake.port (KEEPER_INTAKE__PORT) {taken_port}: port already taken on "
        "127.0.0.1 (another anvil, relay or keeper?); stop it or choose another port with "
        "intake.port (KEEPER_INTAKE__PORT)\n"
    )


def test_an_unquoted_hex_address_in_yaml_is_read_as_that_address(tmp_path):
    config = tmp_path / "keeper.yaml"
    # YAML reads 0x… unquoted as an integer; leading zero digits must survive
    config.write_text(
        f"executor: {EXECUTOR}\nsupported_tokens: [0x00000000000000000000000000000000000000aa]\n"
    )
    settings = load_settings(config)
    assert settings.executor == EXECUTOR
    assert [t.lower() for t in settings.supported_tokens] == ["0x" + "00" * 19 + "aa"]


def test_text_logs_keep_the_fields_the_json_lines_carry():
    record = logging.LogRecord("keeper.daemon", logging.INFO, "", 0, "cycle", None, None)
    record.block, record.url, record.intents = 117, "http://127.0.0.1:8545", 3
    line = TextFormatter().format(record)
    assert line.endswith(
        ' INFO keeper.daemon: cycle block=117 url="http://127.0.0.1:8545" intents=3'
    )


def test_ape_run_keeper_takes_the_keeper_options_after_a_double_dash():
    spec = importlib.util.spec_from_file_location("ape_run_keeper", ROOT / "scripts" / "keeper.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    ctx = module._after_separator.make_context(
        "x", ["--config", "keeper.yaml", "--max-blocks", "3"]
    )
    assert ctx.params["config"] == Path("keeper.yaml") and ctx.params["max_blocks"] == 3
