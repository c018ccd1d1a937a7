"""A mainnet-shaped local market: Uniswap V2 + V3 + WETH9 from npm bytecode at their canonical
mainnet addresses, mainnet-like tokens, pools seeded at realistic prices and depths.

- :mod:`keeper.market.addresses` — the one table of canonical mainnet addresses.
- :mod:`keeper.market.spec` — what the market holds (tokens, prices, pools, depths).
- :mod:`keeper.market.deployments` — the Python description of a market (tokens, pools, DEX
  contracts) and the per-chain deployments file; what routing and the keeper read.
- :mod:`keeper.market.seed` — deploys and seeds the market on an anvil.
- :mod:`keeper.market.state` — the saved anvil state file and the served market.
- :mod:`keeper.market.funding` — gives accounts token portfolios (seeded market or mainnet fork).
- :mod:`keeper.market.executor` — deploys the batch executor.
"""
