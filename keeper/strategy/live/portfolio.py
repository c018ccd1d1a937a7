"""A user's portfolio: balances read from chain, valued in USD, weights and drift vs targets."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from keeper.strategy.proposals import TokenRef

_BALANCE_OF = "0x70a08231"  # balanceOf(address)


def read_balances(
    w3: Any, owner: str, tokens: dict[str, TokenRef], block: Any = "latest"
) -> dict[str, int]:
    """Raw ERC-20 balances of ``owner`` (one ``eth_call`` per token)."""
    out: dict[str, int] = {}
    for sym, ref in tokens.items():
        data = _BALANCE_OF + bytes.fromhex(owner[2:].rjust(64, "0")).hex()
        raw = w3.eth.call({"to": ref.address, "data": data}, block)
        out[sym] = int.from_bytes(bytes(raw)[:32], "big")
    return out


@dataclass(frozen=True)
class Portfolio:
    owner: str
    balances: dict[str, int]
    tokens: dict[str, TokenRef]
    prices_usd: dict[str, float]

    @property
    def values_usd(self) -> dict[str, float]:
        return {
            s: raw / 10 ** self.tokens[s].decimals * self.prices_usd[s]
            for s, raw in self.balances.items()
        }

    @property
    def value_usd(self) -> float:
        return sum(self.values_usd.values())

    @property
    def weights(self) -> dict[str, float]:
        total = self.value_usd
        return {s: (v / total if total else 0.0) for s, v in self.values_usd.items()}

    def table(self, targets: dict[str, float], band: float) -> list[str]:
        """Lines for ``keeper portfolio show``: token, amount, value, weight, target, drift."""
        w, vals = self.weights, self.values_usd
        lines = [f"{'token':<8}{'amount':>18}{'value $':>16}{'weight':>9}{'target':>9}{'drift':>9}"]
        for s in sorted(set(w) | set(targets)):
            amount = (
                self.balances.get(s, 0) / 10 ** self.tokens[s].decimals if s in self.tokens else 0.0
            )
            d = w.get(s, 0.0) - targets.get(s, 0.0)
            flag = "  <- outside band" if abs(d) > band else ""
            lines.append(
                f"{s:<8}{amount:>18,.6f}{vals.get(s, 0.0):>16,.2f}{w.get(s, 0.0) * 100:>8.2f}%"
                f"{targets.get(s, 0.0) * 100:>8.2f}%{d * 100:>+8.2f}%{flag}"
            )
        lines.append(f"total value ${self.value_usd:,.2f}, band {band * 100:.1f}%")
        return lines
