"""`keeper report` refuses, in one line, what would otherwise write an empty report."""

from __future__ import annotations

from click.testing import CliRunner

from keeper.cli import cli

OWNER = "0x3C44CdDdB6a900fa2b585dd299e03d12FA4293BC"


def test_a_malformed_owner_is_refused_naming_the_option(tmp_path):
    result = CliRunner().invoke(
        cli,
        ["report", "--owner", "0x1234", "--month", "2026-11"],
        env={"KEEPER_DATA_DIR": str(tmp_path)},
    )
    assert result.exit_code == 1
    assert (
        result.output.strip() == "error: --owner '0x1234': expected a 0x address of 40 hex digits"
    )


def test_no_store_where_the_settings_point_is_refused_and_nothing_is_created(tmp_path):
    data = tmp_path / "nowhere"
    result = CliRunner().invoke(
        cli,
        ["report", "--owner", OWNER, "--month", "2026-11", "--out", str(tmp_path / "out")],
        env={"KEEPER_DATA_DIR": str(data)},
    )
    assert result.exit_code == 1
    assert result.output.strip() == (
        f"error: config key 'data_dir': no keeper store at {data.resolve()}/intents.db: give the "
        "keeper's --config (or KEEPER_DATA_DIR) so the report reads what it recorded"
    )
    assert not data.exists() and not (tmp_path / "out").exists()
