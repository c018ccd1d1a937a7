"""What the seeded market holds: tokens, reference prices, pools and their depths.

Prices are late-2025 levels (BTC 90,000 USD, ETH 3,000 USD, stablecoins at par). Depths are the
USD value locked in each pool, in the same order of magnitude as mainnet's main pools, with
several pools per popular pair at different fees and depths so routing has real choices. V3
liquidity is spread over several tick ranges around the price (see :data:`VOLATILE_BANDS`).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

#: How a token behaves (the contract in contracts/test/tokens, or WETH9).
TokenKind = Literal["weth", "standard", "no-return", "fee-on-transfer"]


class TokenSpec(BaseModel):
    """A token of the market: what it is and where it goes."""

    model_config = ConfigDict(frozen=True)

    symbol: str
    name: str
    decimals: int = Field(ge=0, le=36)
    kind: TokenKind
    usd_price: float = Field(gt=0)
    #: key in :data:`keeper.market.addresses.CANONICAL`, or None for a local-only token.
    canonical: str | None = None
    fee_bps: int = 0  # fee-on-transfer tokens only


class Band(BaseModel):
    """One V3 position: ``±half_width`` around the price (None = full range), ``weight`` of TVL."""

    model_config = ConfigDict(frozen=True)

    half_width: float | None
    weight: float = Field(gt=0, le=1)


class PoolSpec(BaseModel):
    """A pool to create and fund: ``dex``, tokens by symbol, fee (hundredths of a bip), TVL."""

    model_config = ConfigDict(frozen=True)

    dex: Literal["uniswap-v2", "uniswap-v3"]
    token_a: str
    token_b: str
    fee: int  # V2 is always 3000 (0.3%)
    tvl_usd: float = Field(gt=0)
    bands: tuple[Band, ...] = ()  # V3 only


class MarketSpec(BaseModel):
    """The whole market."""

    model_config = ConfigDict(frozen=True)

    tokens: tuple[TokenSpec, ...]
    pools: tuple[PoolSpec, ...]


#: V3 liquidity of volatile pairs: most of it within ±2%, then ±10%, ±40% and a full-range tail.
VOLATILE_BANDS = (
    Band(half_width=0.02, weight=0.4),
    Band(half_width=0.10, weight=0.3),
    Band(half_width=0.40, weight=0.2),
    Band(half_width=None, weight=0.1),
)
#: V3 liquidity of stablecoin pairs: concentrated within a few basis points of par.
STABLE_BANDS = (
    Band(half_width=0.0005, weight=0.5),
    Band(half_width=0.002, weight=0.3),
    Band(half_width=0.01, weight=0.2),
)

TOKENS = (
    TokenSpec(
        symbol="WETH",
        name="Wrapped Ether",
        decimals=18,
        kind="weth",
        usd_price=3_000.0,
        canonical="WETH9",
    ),
    TokenSpec(
        symbol="USDC", name="USD Coin", decimals=6, kind="standard", usd_price=1.0, canonical="USDC"
    ),
    TokenSpec(
        symbol="USDT",
        name="Tether USD",
        decimals=6,
        kind="no-return",
        usd_price=1.0,
        canonical="USDT",
    ),
    TokenSpec(
        symbol="WBTC",
        name="Wrapped BTC",
        decimals=8,
        kind="standard",
        usd_price=90_000.0,
        canonical="WBTC",
    ),
    TokenSpec(
        symbol="DAI",
        name="Dai Stablecoin",
        decimals=18,
        kind="standard",
        usd_price=1.0,
        canonical="DAI",
    ),
    TokenSpec(
        symbol="FOT",
        name="Fee-On-Transfer Token",
        decimals=18,
        kind="fee-on-transfer",
        usd_price=2.0,
        fee_bps=100,
    ),
)


def _v2(a: str, b: str, tvl_musd: float) -> PoolSpec:
    return PoolSpec(dex="uniswap-v2", token_a=a, token_b=b, fee=3000, tvl_usd=tvl_musd * 1e6)


def _v3(a: str, b: str, fee: int, tvl_musd: float, stable: bool = False) -> PoolSpec:
    bands = STABLE_BANDS if stable else VOLATILE_BANDS
    return PoolSpec(
        dex="uniswap-v3", token_a=a, token_b=b, fee=fee, tvl_usd=tvl_musd * 1e6, bands=bands
    )


POOLS = (
    # ETH / dollars: the deepest market; 0.05% V3 leads, V2 and the 0.3% tier follow.
    _v3("WETH", "USDC", 500, 80),
    _v3("WETH", "USDC", 3000, 25),
    _v3("WETH", "USDC", 10000, 2),
    _v2("WETH", "USDC", 40),
    _v3("WETH", "USDT", 500, 30),
    _v3("WETH", "USDT", 3000, 10),
    _v2("WETH", "USDT", 20),
    # BTC: the 0.3% WBTC/WETH pool is the deep one (as on mainnet).
    _v3("WBTC", "WETH", 3000, 60),
    _v3("WBTC", "WETH", 500, 20),
    _v2("WBTC", "WETH", 10),
    _v3("WBTC", "USDC", 3000, 5),
    _v3("WBTC", "USDC", 500, 10),
    _v2("WBTC", "USDC", 2),
    _v3("WBTC", "USDT", 3000, 3),
    # Stablecoins: 0.01% pools with liquidity a few bips around par.
    _v3("USDC", "USDT", 100, 60, stable=True),
    _v3("USDC", "USDT", 500, 5, stable=True),
    _v2("USDC", "USDT", 2),
    _v3("DAI", "USDC", 100, 40, stable=True),
    _v3("DAI", "USDC", 500, 3, stable=True),
    _v2("DAI", "USDC", 4),
    _v3("DAI", "WETH", 3000, 10),
    _v3("DAI", "WETH", 500, 5),
    _v2("DAI", "WETH", 8),
    # The fee-on-transfer token trades on V2 only (V3 pools do not support such tokens).
    _v2("FOT", "WETH", 1),
)

DEFAULT_SPEC = MarketSpec(tokens=TOKENS, pools=POOLS)

#: Tick spacing of each V3 fee tier (the factory's defaults plus 0.01%, enabled on mainnet).
TICK_SPACING = {100: 1, 500: 10, 3000: 60, 10000: 200}
