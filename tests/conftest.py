"""Session-wide test set-up.

Ape's pytest plugin connects to the network named in ape-config.yaml (anvil through
ape-foundry). The anvil binary and our tools are put on PATH here so plain ``pytest`` works the
same as ``make test``.
"""

from __future__ import annotations

import os
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

_extra = [str(ROOT / ".venv" / "bin"), str(ROOT / "node_modules" / ".bin")]
os.environ["PATH"] = os.pathsep.join([*_extra, os.environ.get("PATH", "")])

import pytest  # noqa: E402

# The suite runs on an anvil fork of the seeded market (ape-foundry's fork support, the code
# path of forking mainnet) unless ``--network`` names another network. The upstream — an anvil
# serving the saved market state, or KEEPER_FORK_URL (a real mainnet RPC) — is started once
# collection found tests, just before Ape connects, and stopped at the end. See
# docs/LOCAL_CHAIN.md.
_upstream = None


def pytest_configure(config):
    from keeper.market.fork import FORK_NETWORK

    if getattr(config.option, "network", None) is None:
        config.option.network = FORK_NETWORK


def _fixture_scope_clashes(session) -> list[str]:
    # Ape's isolation tracks fixtures by name: one name with two scopes (e.g. a session-scoped
    # `executor` in one folder and a module-scoped `executor` in another) makes it revert the
    # chain under the longer-lived fixture, and unrelated tests fail with wrong state.
    used = {name for item in session.items for name in getattr(item, "fixturenames", ())}
    clashes = []
    for name, definitions in session._fixturemanager._arg2fixturedefs.items():
        ours = [d for d in definitions if d.baseid.startswith("tests")]
        if name in used and len({d.scope for d in ours}) > 1:
            where = ", ".join(f"{d.scope} in {d.baseid}" for d in ours)
            clashes.append(f"'{name}' ({where})")
    return clashes


def pytest_collection_finish(session):
    # Runs before Ape's own hook (a trylast wrapper) connects the session's provider.
    global _upstream
    if clashes := _fixture_scope_clashes(session):
        raise pytest.UsageError(
            "fixtures defined with different scopes under one name break Ape's test isolation; "
            f"rename one of each: {'; '.join(clashes)}"
        )
    network = session.config.option.network or ""
    if session.items and _upstream is None and network.startswith("ethereum:mainnet-fork"):
        from keeper.exceptions import KeeperError
        from keeper.market.fork import ForkUpstream

        try:
            _upstream = ForkUpstream().start()
        except KeeperError as err:
            raise pytest.UsageError(f"fork upstream: {err}") from err


def pytest_unconfigure(config):
    global _upstream
    if _upstream is not None:
        _upstream.stop()
        _upstream = None


#: Token portfolios (whole tokens) the user roles hold when the chain has the market: about
#: $150k, $140k and $320k, in several tokens, so rebalancing has something to do.
PORTFOLIOS = {
    "alice": {"WETH": 20, "WBTC": 0.5, "USDC": 40_000, "DAI": 10_000},
    "bob": {"WETH": 5, "WBTC": 1, "USDT": 20_000, "USDC": 10_000},
    "carol": {"WETH": 50, "USDC": 100_000, "DAI": 50_000, "USDT": 20_000},
}


@pytest.fixture(scope="session")
def _market_on_chain(chain):
    """The market's description if this chain has it (the fork's default), else None."""
    from keeper.market.deployments import describe_market

    described = describe_market(chain_id=int(chain.chain_id))
    has_code = len(chain.provider.get_code(described.contracts["UniswapV3Factory"])) > 0
    return described if has_code else None


@pytest.fixture(scope="session")
def market(_market_on_chain):
    """Tokens, pools and DEX contracts of the forked market (skips on a chain without it)."""
    if _market_on_chain is None:
        pytest.skip("no market on this chain: run on the default fork network")
    return _market_on_chain


def _with_portfolio(account, name, market, chain):
    if market is not None:
        from keeper.market.funding import fund_portfolio

        fund_portfolio(chain.provider.web3, market, account.address, PORTFOLIOS[name])
    return account


# Role-named accounts (Ape's funded test accounts). Session-scoped: Ape isolates each test
# with a chain snapshot, so state never leaks between tests. On a chain with the market the
# users (alice, bob, carol) also hold the token portfolios above.
@pytest.fixture(scope="session")
def owner(accounts):
    return accounts[0]


@pytest.fixture(scope="session")
def keeper(accounts):
    return accounts[1]


@pytest.fixture(scope="session")
def alice(accounts, _market_on_chain, chain):
    return _with_portfolio(accounts[2], "alice", _market_on_chain, chain)


@pytest.fixture(scope="session")
def bob(accounts, _market_on_chain, chain):
    return _with_portfolio(accounts[3], "bob", _market_on_chain, chain)


@pytest.fixture(scope="session")
def carol(accounts, _market_on_chain, chain):
    return _with_portfolio(accounts[4], "carol", _market_on_chain, chain)


@pytest.fixture(scope="session")
def attacker(accounts):
    return accounts[9]
