"""Signing accounts by alias: the keeper's signer, its relay identity, a user's key for
``keeper intent sign``/``cancel``."""

from __future__ import annotations

from typing import Any

from keeper.exceptions import ConfigError


def load_signer(alias: str) -> Any:
    """An Ape account by alias; ``TEST::<n>`` names Ape's local test accounts (dev chains)."""
    import ape

    if alias.startswith("TEST::"):
        try:
            return ape.accounts.test_accounts[int(alias.removeprefix("TEST::"))]
        except (ValueError, IndexError) as err:
            raise ConfigError("signer", f"{alias}: no such test account") from err
    try:
        return ape.accounts.load(alias)
    except KeyError as err:
        raise ConfigError("signer", f"no Ape account with alias '{alias}'") from err
