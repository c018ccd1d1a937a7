"""Rebalance intents: the typed definition (``types``), EIP-712 signing (``signing``), and the
keeper's intake, validation and store built on them."""
