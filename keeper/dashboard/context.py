"""What the dashboard reads: the store (intents and the ledger), the chain, the owners it
follows, and — when it runs inside ``keeper run`` — the live daemon's status."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from keeper.config import DashboardOwner, DashboardSettings
from keeper.exceptions import KeeperError
from keeper.intents.ledger import Ledger
from keeper.intents.store import IntentStore


class NotFoundError(KeeperError):
    """Something the request names does not exist (HTTP 404)."""

    def __init__(self, field: str, message: str) -> None:
        self.field = field
        super().__init__(f"{field}: {message}")


@dataclass
class DashboardContext:
    settings: DashboardSettings
    store: IntentStore
    chain_id: int
    executor: str
    #: web3 connection and the market description (keeper.market.deployments.Market);
    #: None: pages that need the chain answer 503
    w3: Any = None
    market: Any = None
    #: the running daemon's pipeline (keeper run), else None
    pipeline: Any = None
    clock: Callable[[], float] = time.time
    #: lower-case owner -> the decision explanation last journaled (to journal changes only)
    journaled: dict[str, str] = field(default_factory=dict)

    @property
    def ledger(self) -> Ledger:
        return self.store.ledger

    def owner(self, address: str) -> DashboardOwner:
        for entry in self.settings.owners:
            if entry.owner.lower() == address.lower():
                return entry
        known = ", ".join(e.owner for e in self.settings.owners) or "none configured"
        raise NotFoundError(
            "owner", f"{address} is not a portfolio this dashboard follows ({known})"
        )

    def reports(self, owner: str) -> list[str]:
        """Months with a report for ``owner`` (``reports_dir/<owner>/<YYYY-MM>.html``)."""
        folder = self.reports_dir(owner)
        if folder is None or not folder.is_dir():
            return []
        return sorted((p.stem for p in folder.glob("*.html")), reverse=True)

    def reports_dir(self, owner: str) -> Path | None:
        base = self.settings.reports_dir
        return None if base is None else base / owner.lower()
