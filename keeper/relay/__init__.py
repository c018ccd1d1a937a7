"""Private submission through a Flashbots relay, and a local relay that speaks the same protocol.

- :mod:`keeper.relay.client` — :class:`RelayClient` (sendBundle to several URLs, callBundle,
  cancelBundle, private transactions), retries and typed errors.
- :mod:`keeper.relay.bundle` — :class:`Bundle` (the signed transactions, limits, bundle hash).
- :mod:`keeper.relay.tracker` — :class:`InclusionTracker`: re-sends a bundle block after block and
  reports where it landed or why it did not.
- :mod:`keeper.relay.server` — :class:`LocalRelay`, an HTTP relay + block builder over anvil.
- :mod:`keeper.relay.sandwich` — a sandwich bot for the public-mempool-vs-relay comparison.

See docs/RELAY.md.
"""

from keeper.relay.bundle import Bundle
from keeper.relay.client import BundleSubmission, RelayClient
from keeper.relay.server import LocalRelay
from keeper.relay.tracker import InclusionReport, InclusionTracker, MissReason

__all__ = [
    "Bundle",
    "BundleSubmission",
    "InclusionReport",
    "InclusionTracker",
    "LocalRelay",
    "MissReason",
    "RelayClient",
]
