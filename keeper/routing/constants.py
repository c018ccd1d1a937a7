"""Protocol constants (Uniswap V3 tick bounds) and the per-leg gas model."""

from __future__ import annotations

MIN_TICK = -887272
MAX_TICK = 887272
MIN_SQRT_RATIO = 4295128739
MAX_SQRT_RATIO = 1461446703485210103287273052203988822378723970342
Q96 = 1 << 96
FEE_DENOMINATOR = 1_000_000

# Gas per leg as the executor runs it (measured on anvil, see docs/ROUTING.md):
#: V2: ERC-20 transfer to the pair + pair.swap (warm pair, cold recipient balance slot).
GAS_V2_LEG = 75_000
#: V3: approve + SwapRouter.exactInputSingle, no tick crossed.
GAS_V3_LEG = 120_000
#: V3: extra gas per initialised tick crossed.
GAS_V3_TICK = 22_000
