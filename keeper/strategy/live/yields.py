"""Yield sources for the opportunity trigger (pluggable).

A source answers :meth:`YieldSource.quotes` with the APY and liquidity of each venue. A venue is
a token the portfolio can hold (an interest-bearing or vault token). Two implementations: a
file (JSON or YAML, for operators and tests) and ERC-4626 vaults read on-chain, whose APY is the
growth of ``convertToAssets(1 share)`` between two blocks, annualised.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

from pydantic import BaseModel, ConfigDict, ValidationError

from keeper.strategy.constants import SECONDS_PER_YEAR
from keeper.strategy.exceptions import StrategyConfigError, YieldSourceError
from keeper.strategy.market_data import YieldQuote


class YieldSource(Protocol):
    name: str

    def quotes(self) -> list[YieldQuote]: ...


class _YieldFile(BaseModel):
    model_config = ConfigDict(extra="forbid")
    venues: list[YieldQuote]


class FileYieldSource:
    """Yields from a JSON or YAML file: ``{venues: [{venue, apy, liquidity_usd}, ...]}``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self.name = f"file:{self.path.name}"

    def quotes(self) -> list[YieldQuote]:
        import yaml

        try:
            text = self.path.read_text()
            raw: Any = json.loads(text) if self.path.suffix == ".json" else yaml.safe_load(text)
            return _YieldFile.model_validate(raw).venues
        except OSError as err:
            raise YieldSourceError(self.name, f"cannot read: {err.strerror}") from None
        except (ValueError, yaml.YAMLError, ValidationError) as err:
            problem = str(err).splitlines()[0] if str(err) else type(err).__name__
            raise YieldSourceError(self.name, f"invalid content: {problem}") from None


_CONVERT_TO_ASSETS = "0x07a2d13a"  # convertToAssets(uint256)


class ERC4626YieldSource:
    """APY of ERC-4626 vaults from their share price at two blocks.

    ``apy = (p1 / p0) ** (year / (t1 - t0)) - 1`` with ``p = convertToAssets(10**decimals)``.
    ``vaults`` maps venue symbol -> (vault address, share decimals, liquidity in USD).
    """

    def __init__(
        self, web3: Any, vaults: dict[str, tuple[str, int, float]], lookback_blocks: int = 7200
    ) -> None:
        self.web3 = web3
        self.vaults = vaults
        self.lookback_blocks = lookback_blocks
        self.name = "erc4626"

    def _share_price(self, vault: str, decimals: int, block: int) -> int:
        data = _CONVERT_TO_ASSETS + (10**decimals).to_bytes(32, "big").hex()
        try:
            out = self.web3.eth.call({"to": vault, "data": data}, block)
        except Exception as err:  # web3 raises many types; report which vault failed
            raise YieldSourceError(self.name, f"convertToAssets on {vault}: {err}") from err
        if len(out) < 32:
            raise YieldSourceError(self.name, f"{vault} returned {len(out)} bytes")
        return int.from_bytes(bytes(out[:32]), "big")

    def quotes(self) -> list[YieldQuote]:
        latest = self.web3.eth.get_block("latest")
        start_no = max(0, int(latest["number"]) - self.lookback_blocks)
        start = self.web3.eth.get_block(start_no)
        dt = int(latest["timestamp"]) - int(start["timestamp"])
        if dt <= 0:
            raise YieldSourceError(self.name, "no time elapsed between the two blocks")
        out: list[YieldQuote] = []
        for venue, (vault, decimals, liquidity) in sorted(self.vaults.items()):
            p0 = self._share_price(vault, decimals, start_no)
            p1 = self._share_price(vault, decimals, int(latest["number"]))
            if p0 == 0:
                raise YieldSourceError(self.name, f"{venue}: zero share price at block {start_no}")
            apy = (p1 / p0) ** (SECONDS_PER_YEAR / dt) - 1.0
            out.append(YieldQuote(venue=venue, apy=apy, liquidity_usd=liquidity))
        return out


def best_by_venue(quotes: Sequence[YieldQuote]) -> dict[str, YieldQuote]:
    return {q.venue: q for q in quotes}


def source_from_config(spec: dict[str, Any], base_dir: Path, web3: Any = None) -> YieldSource:
    """Build the source named by ``triggers.opportunity.source`` (paths relative to the file).

    ``{kind: file, path: yields.json}`` or
    ``{kind: erc4626, vaults: {SYMBOL: [address, decimals, liquidity_usd]}, lookback_blocks: N}``.
    """
    kind = spec.get("kind")
    if kind == "file" and isinstance(spec.get("path"), str):
        return FileYieldSource(base_dir / spec["path"])
    if kind == "erc4626" and isinstance(spec.get("vaults"), dict) and web3 is not None:
        vaults = {k: (str(v[0]), int(v[1]), float(v[2])) for k, v in spec["vaults"].items()}
        return ERC4626YieldSource(web3, vaults, int(spec.get("lookback_blocks", 7200)))
    raise StrategyConfigError(
        "triggers.opportunity.source",
        "expected {kind: file, path: ...} or {kind: erc4626, vaults: {...}} (with a chain)",
    )
