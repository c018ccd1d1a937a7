"""Shared helpers for the relay unit tests (no chain)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from eth_account import Account
from eth_account.signers.local import LocalAccount

DATA = Path(__file__).resolve().parents[2] / "data" / "relay"
CHAIN_ID = 31337


def recorded(name: str) -> dict[str, Any]:
    """A recorded relay answer: {"source", "http_status", "body"}."""
    data: dict[str, Any] = json.loads((DATA / name).read_text())
    return data


@pytest.fixture(scope="session")
def reputation_key() -> LocalAccount:
    return Account.from_key("0x" + "42" * 32)


@pytest.fixture(scope="session")
def sender() -> LocalAccount:
    return Account.from_key("0x" + "07" * 32)


def signed_transfer(
    account: LocalAccount, nonce: int, data: bytes = b"", tip: int = 10**9
) -> bytes:
    tx = {
        "to": "0x" + "11" * 20,
        "value": 1,
        "gas": 21_000 + 16 * len(data),
        "maxFeePerGas": 10**11,
        "maxPriorityFeePerGas": tip,
        "nonce": nonce,
        "chainId": CHAIN_ID,
        "type": 2,
        "data": data,
    }
    return bytes(account.sign_transaction(tx).raw_transaction)
