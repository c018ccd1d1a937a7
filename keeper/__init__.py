"""Keeper for the intent-based portfolio rebalancer.

Nothing here does network I/O at import time; heavy modules are imported lazily.
"""

__all__ = ["__version__"]

__version__ = "0.1.0"
