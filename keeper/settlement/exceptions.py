"""Errors of settlement building and gas pricing."""

from __future__ import annotations

from keeper.exceptions import KeeperError


class SettlementError(KeeperError):
    """Root of the settlement errors."""


class EmptySettlementError(SettlementError):
    def __init__(self) -> None:
        super().__init__("settlement: no orders to settle")


class GasAboveCapError(SettlementError):
    """The next block's base fee plus tip exceeds the configured cap: wait for cheaper gas."""

    def __init__(self, base_fee: int, tip: int, cap: int) -> None:
        self.base_fee = base_fee
        self.tip = tip
        self.cap = cap
        super().__init__(
            f"gas: base fee {base_fee / 1e9:.2f} gwei + tip {tip / 1e9:.2f} gwei exceeds the "
            f"cap {cap / 1e9:.2f} gwei"
        )


class UnsignedSettlementError(SettlementError):
    def __init__(self, signer: str) -> None:
        self.signer = signer
        super().__init__(f"settlement: account {signer} declined to sign")
