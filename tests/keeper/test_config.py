"""Keeper settings: file < env < arguments, nested groups, errors naming the key."""

from __future__ import annotations

import re

import pytest
from eth_utils import to_checksum_address

from keeper.config import load_settings
from keeper.exceptions import ConfigError


@pytest.fixture(autouse=True)
def clean_env(monkeypatch):
    import os

    for name in list(os.environ):
        if name.startswith("KEEPER_"):
            monkeypatch.delenv(name)


def test_defaults_are_paper_mode_on_loopback_with_a_sqlite_store(tmp_path):
    settings = load_settings(data_dir=tmp_path)
    assert settings.paper_mode
    assert settings.intake.host == "127.0.0.1" and settings.metrics.host == "127.0.0.1"
    assert settings.database_url == f"sqlite:///{tmp_path / 'intents.db'}"


def test_a_yaml_file_is_read_and_env_overrides_it_key_by_key(tmp_path, monkeypatch):
    path = tmp_path / "keeper.yaml"
    path.write_text(
        "signer: keeper-alias\ngas:\n  max_fee_gwei: 50\n  priority_fee_gwei: 2\n"
        "relay:\n  urls: ['http://127.0.0.1:9']\n"
    )
    monkeypatch.setenv("KEEPER_GAS__PRIORITY_FEE_GWEI", "3")
    settings = load_settings(path)
    assert settings.signer == "keeper-alias" and not settings.paper_mode
    assert settings.gas.max_fee_gwei == 50  # from the file
    assert settings.gas.priority_fee_gwei == 3  # from the environment
    assert settings.relay.urls == ["http://127.0.0.1:9"]
    assert load_settings(path, signer=None).paper_mode  # arguments win over both


def test_a_toml_file_named_by_keeper_config_is_read(tmp_path, monkeypatch):
    path = tmp_path / "keeper.toml"
    path.write_text('executor = "0x' + "ab" * 20 + '"\n[limits]\nmax_orders_per_batch = 7\n')
    monkeypatch.setenv("KEEPER_CONFIG", str(path))
    settings = load_settings()
    assert settings.executor == to_checksum_address("0x" + "ab" * 20)
    assert settings.limits.max_orders_per_batch == 7


@pytest.mark.parametrize(
    ("overrides", "key"),
    [
        ({"executor": "0x1234"}, "executor"),
        ({"gas": {"max_fee_gwei": -1}}, "gas.max_fee_gwei"),
        ({"intake": {"host": "0.0.0.0"}}, "intake"),
        ({"relay": {"target_blocks": 0}}, "relay.target_blocks"),
        ({"relay": {"confirmations": 0}}, "relay.confirmations"),
        ({"unknown_key": 1}, "unknown_key"),
        ({"limits": {"max_orderz": 3}}, "limits.max_orderz"),  # a typo in a nested table
        ({"fee": {"gas_per_ordr": 1}}, "fee.gas_per_ordr"),
        ({"fee": {"markup_bps": -1}}, "fee.markup_bps"),
        ({"usd_token": ""}, "usd_token"),
    ],
)
def test_a_bad_value_is_a_config_error_naming_the_key(overrides, key):
    with pytest.raises(ConfigError) as err:
        load_settings(**overrides)
    assert err.value.key == key


def test_a_public_listener_must_be_asked_for_explicitly():
    settings = load_settings(metrics={"host": "0.0.0.0", "public": True})
    assert settings.metrics.host == "0.0.0.0"


def test_a_missing_or_unknown_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match="no such file"):
        load_settings(tmp_path / "absent.yaml")
    with pytest.raises(ConfigError, match=r"expected a \.yaml"):
        load_settings(tmp_path / "keeper.ini")


@pytest.mark.parametrize(
    ("name", "text", "problem"),
    [
        ("keeper.yaml", "fee: [1, 2\n", r"not valid YAML: .* \(line 2, column 1\)"),
        ("keeper.yaml", "- 1\n- 2\n", "expected a table of settings at the top, got list"),
        ("keeper.toml", "limits = [\n", "not valid TOML"),
        ("keeper.yaml", "gas:\n  max_fee_gwei: 50\n\tpriority: 1\n", "not valid YAML"),
    ],
)
def test_a_broken_config_file_is_a_config_error_naming_the_file_and_the_problem(
    tmp_path, name, text, problem
):
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(ConfigError) as err:
        load_settings(path)
    assert err.value.key == "KEEPER_CONFIG"
    assert str(path) in err.value.problem
    assert re.search(problem, err.value.problem), err.value.problem
