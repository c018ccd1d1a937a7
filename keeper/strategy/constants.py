"""Fixed numbers of the strategy layer: cadences, volatility regimes, well-known tokens.

The volatility-regime levels (15/25/40/60 % annualised) and their cadences come from the
product document; everything else is documented in docs/STRATEGIES.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

SECONDS_PER_DAY = 86_400
SECONDS_PER_YEAR = 365 * SECONDS_PER_DAY
#: Trading days per year used to annualise daily return statistics (crypto trades every day).
PERIODS_PER_YEAR = 365


class Frequency(StrEnum):
    """How often a calendar rebalance is due."""

    DAILY = "daily"
    WEEKLY = "weekly"
    BIWEEKLY = "bi-weekly"
    MONTHLY = "monthly"
    QUARTERLY = "quarterly"

    @property
    def nominal_days(self) -> int:
        """Length in days used for horizons and ordering (months count as 30, quarters 91)."""
        return {"daily": 1, "weekly": 7, "bi-weekly": 14, "monthly": 30, "quarterly": 91}[self]


class VolatilityRegime(StrEnum):
    """Market volatility level, from annualised volatility of the portfolio's assets."""

    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"
    EXTREME = "extreme"


@dataclass(frozen=True)
class RegimeRule:
    """What a volatility regime changes: it starts at ``level`` % annualised volatility, is
    checked every ``frequency`` and multiplies the strategy's band by ``band_scale``."""

    level: float
    frequency: Frequency
    band_scale: float


#: The product document's table: low 15 monthly, medium 25 bi-weekly, high 40 weekly,
#: extreme 60 daily. Levels are lower bounds (low also covers everything below 25 %).
#: Band scales are ours, chosen by backtest (docs/BACKTESTS.md, "Volatility regimes"): wider
#: bands when volatile (a volatile market crosses a tight band often, and every crossing pays
#: gas), as the optimal no-trade band of proportional-cost theory widens with volatility.
VOLATILITY_REGIMES: dict[VolatilityRegime, RegimeRule] = {
    VolatilityRegime.LOW: RegimeRule(15.0, Frequency.MONTHLY, 0.8),
    VolatilityRegime.MEDIUM: RegimeRule(25.0, Frequency.BIWEEKLY, 1.0),
    VolatilityRegime.HIGH: RegimeRule(40.0, Frequency.WEEKLY, 1.25),
    VolatilityRegime.EXTREME: RegimeRule(60.0, Frequency.DAILY, 1.6),
}

#: The default, relative rule: the same four regimes, with levels in % of the assets' own
#: long-run volatility (``triggers.volatility.reference_days``): below 75 % low, 75-125 %
#: medium, 125-175 % high, 175 % and more extreme. With the document's absolute levels crypto
#: (60-90 % a year) sits in "extreme" on most days and trades daily; relative levels put each
#: asset in its usual regime most of the time and react to a change of its volatility.
RELATIVE_VOLATILITY_REGIMES: dict[VolatilityRegime, RegimeRule] = {
    VolatilityRegime.LOW: RegimeRule(0.0, Frequency.MONTHLY, 0.8),
    VolatilityRegime.MEDIUM: RegimeRule(75.0, Frequency.BIWEEKLY, 1.0),
    VolatilityRegime.HIGH: RegimeRule(125.0, Frequency.WEEKLY, 1.25),
    VolatilityRegime.EXTREME: RegimeRule(175.0, Frequency.DAILY, 1.6),
}


class MarketRegime(StrEnum):
    """Statistical character of recent returns."""

    MEAN_REVERTING = "mean-reverting"
    RANDOM_WALK = "random-walk"
    TRENDING = "trending"


@dataclass(frozen=True)
class KnownToken:
    """A token strategies may name by symbol without declaring it."""

    symbol: str
    decimals: int
    sector: str
    stable: bool
    #: Ethereum mainnet address (local chains resolve symbols through their deployment file).
    mainnet: str | None = None


KNOWN_TOKENS: dict[str, KnownToken] = {
    t.symbol: t
    for t in (
        KnownToken("WETH", 18, "eth", False, "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"),
        KnownToken("ETH", 18, "eth", False),
        KnownToken("stETH", 18, "eth", False, "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84"),
        KnownToken("wstETH", 18, "eth", False, "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0"),
        KnownToken("WBTC", 8, "btc", False, "0x2260FAC5E5542a773Aa44fBCfeDf7C193bc2C599"),
        KnownToken("BTC", 8, "btc", False),
        KnownToken("USDC", 6, "stable", True, "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"),
        KnownToken("USDT", 6, "stable", True, "0xdAC17F958D2ee523a2206206994597C13D831ec7"),
        KnownToken("DAI", 18, "stable", True, "0x6B175474E89094C44Da98b954EedeAC495271d0F"),
        KnownToken("LINK", 18, "infrastructure", False),
        KnownToken("UNI", 18, "defi", False),
        KnownToken("AAVE", 18, "defi", False),
    )
}
