"""Fork sessions: the upstream a ``ethereum:mainnet-fork:foundry`` session forks.

By default the upstream is the seeded market (the saved state served by an anvil with chain id
1, started and stopped here). With ``KEEPER_FORK_URL`` set, the upstream is that RPC (a real
mainnet node) and the fork is pinned at ``KEEPER_FORK_BLOCK`` (default
:data:`PINNED_MAINNET_BLOCK`). Either way Ape's ``node`` provider for ``ethereum:mainnet`` is
pointed at the upstream and ape-foundry forks it: the code path of forking mainnet.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from keeper.chain.anvil import AnvilProcess
from keeper.exceptions import ConfigError
from keeper.lifecycle import Service
from keeper.market.state import market_node, state_file

FORK_NETWORK = "ethereum:mainnet-fork:foundry"
FORK_URL_ENV = "KEEPER_FORK_URL"
FORK_BLOCK_ENV = "KEEPER_FORK_BLOCK"
#: A mainnet block (2024-10-19) where every token and pool of the market exists.
PINNED_MAINNET_BLOCK = 21_000_000


class ForkUpstream(Service):
    """Starts (or names) the upstream and points Ape at it; a context manager.

    Attributes after :meth:`start`: ``url`` of the upstream, ``block_number`` the fork is pinned
    at (None = the upstream's latest block), ``seeded`` whether it is our seeded market.
    """

    def __init__(self, fork_url: str | None = None, block_number: int | None = None) -> None:
        self.fork_url = fork_url if fork_url is not None else os.environ.get(FORK_URL_ENV) or None
        self.block_number = block_number
        if self.fork_url and block_number is None:
            raw = os.environ.get(FORK_BLOCK_ENV, str(PINNED_MAINNET_BLOCK))
            if not raw.isdigit():
                raise ConfigError(FORK_BLOCK_ENV, f"must be a block number, got {raw!r}")
            self.block_number = int(raw)
        self.seeded = not self.fork_url
        self.url = self.fork_url or ""
        self._node: AnvilProcess | None = None

    def start(self) -> ForkUpstream:
        if self.seeded:
            self._node = market_node(state_file()).start()
            self.url = self._node.url
        self.configure_ape()
        return self

    def configure_ape(self) -> None:
        """Point Ape's ``ethereum:mainnet`` node provider (the fork's upstream) at :attr:`url`."""
        from ape import config
        from ape_foundry.provider import FoundryForkConfig

        isolate_contract_caches()

        config.get_config("node").ethereum.mainnet["uri"] = self.url
        forks = config.get_config("foundry").fork
        fork = forks.setdefault("ethereum", {}).get("mainnet") or FoundryForkConfig()
        fork.upstream_provider = "node"
        fork.block_number = self.block_number
        forks["ethereum"]["mainnet"] = fork

    def stop(self) -> None:
        node, self._node = self._node, None
        if node is not None:
            node.stop()


def isolate_contract_caches(ecosystem: str = "ethereum", network: str = "mainnet") -> None:
    """Keep Ape's contract caches for ``network`` (and its fork) in memory only.

    Ape files the contract types it sees on ``mainnet-fork`` under ``mainnet`` and writes them to
    ``~/.ape/ethereum/mainnet/`` (the "-fork" check in ``ApeDataCache`` runs after the suffix was
    stripped). Fork sessions deploy different contracts at the same addresses from run to run,
    so a later session would decode calls and errors with a stale ABI; the seeded market served
    as ``ethereum:mainnet`` has the same problem. Pre-creating the caches with disk access off
    fixes both. (Uses Ape's private cache table; checked against eth-ape 0.8.51.)
    """
    from ape.api.networks import ProxyInfoAPI
    from ape.api.query import ContractCreation
    from ape.managers._contractscache import ApeDataCache, ContractCache
    from ape.utils.basemodel import ManagerAccessMixin
    from ethpm_types import ContractType

    data_folder = ManagerAccessMixin.config_manager.DATA_FOLDER
    tables = ContractCache._caches.setdefault(ecosystem, {}).setdefault(network, {})
    kinds: dict[str, type] = {
        "contract_types": ContractType,
        "proxy_info": ProxyInfoAPI,
        "blueprints": ContractType,
        "contract_creation": ContractCreation,
    }
    for key, model in kinds.items():
        cache = tables.get(key)
        if cache is None:
            cache = ApeDataCache(data_folder, ecosystem, network, key, model)
            tables[key] = cache
        cache._write_to_disk = False
        cache._read_from_disk = False


@contextmanager
def local_chain_caches() -> Iterator[None]:
    """On an anvil (e.g. the seeded market served as ``ethereum:mainnet``), keep what Ape learns
    about contracts and deployments out of its on-disk mainnet caches; elsewhere do nothing."""
    from ape import chain

    if not str(chain.provider.web3.client_version).startswith("anvil"):
        yield
        return
    network = chain.provider.network.name.replace("-fork", "")
    isolate_contract_caches(chain.provider.network.ecosystem.name, network)
    with chain.contracts.deployments.use_temporary_cache():
        yield
