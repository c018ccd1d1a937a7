"""Seeding is deterministic, idempotent and refuses to overwrite foreign code; the saved state
reproduces the seeded chain; addresses and the description are computed without a chain."""

from __future__ import annotations

import json
import math

import pytest
from web3 import HTTPProvider, Web3

from keeper.chain.anvil import AnvilProcess
from keeper.market import liquidity
from keeper.market.addresses import CANONICAL, MARKET_MAKER, create_address
from keeper.market.deployments import describe_market
from keeper.market.exceptions import MarketAlreadyPresentError
from keeper.market.seed import seed
from keeper.market.state import fingerprint, generate_state, market_node


@pytest.mark.parametrize("name", [n for n, s in CANONICAL.items() if s.deployer is not None])
def test_replayed_creations_land_on_the_mainnet_addresses(name):
    slot = CANONICAL[name]
    assert slot.deployer is not None and slot.nonce is not None
    assert create_address(slot.deployer, slot.nonce) == slot.address


@pytest.mark.slow
def test_seeding_a_fresh_chain_gives_the_described_market_and_reseeding_changes_nothing():
    with AnvilProcess(chain_id=1) as node:
        w3 = Web3(HTTPProvider(node.url))
        market = seed(w3, MARKET_MAKER)
        head = w3.eth.block_number
        again = seed(w3, MARKET_MAKER)

        assert market == describe_market() == again
        assert w3.eth.block_number == head
        assert all(len(w3.eth.get_code(p.address)) > 0 for p in market.pools)


def test_seeding_refuses_a_chain_that_already_has_code_at_a_canonical_address():
    with AnvilProcess(chain_id=1) as node:
        w3 = Web3(HTTPProvider(node.url))
        factory = CANONICAL["UniswapV3Factory"].address
        w3.provider.make_request("anvil_setCode", [factory, "0x6000"])  # type: ignore[arg-type]

        with pytest.raises(MarketAlreadyPresentError, match="UniswapV3Factory") as caught:
            seed(w3, MARKET_MAKER)
        assert caught.value.address == factory


@pytest.mark.slow
def test_a_saved_state_serves_the_same_market(tmp_path):
    path = tmp_path / "market.json"
    market = generate_state(path)
    assert json.loads(path.read_text())["best_block_number"] > 0

    with market_node(path) as node:
        w3 = Web3(HTTPProvider(node.url))
        assert w3.eth.chain_id == 1
        assert all(len(w3.eth.get_code(p.address)) > 0 for p in market.pools)


def test_the_state_fingerprint_is_stable_and_follows_the_spec():
    from keeper.market.spec import DEFAULT_SPEC

    changed = DEFAULT_SPEC.model_copy(update={"pools": DEFAULT_SPEC.pools[:-1]})
    assert fingerprint() == fingerprint()
    assert fingerprint(changed) != fingerprint()


def test_v3_positions_are_worth_what_was_asked():
    price = liquidity.raw_price(1.0, 6, 3000.0, 18)  # USDC/WETH: WETH base units per USDC unit
    for half_width in (0.02, 0.1, None):
        lower, upper = liquidity.band_ticks(price, half_width, 10)
        assert lower % 10 == 0 and upper % 10 == 0
        assert lower <= liquidity.price_tick(price) < upper
        p = liquidity.position(price, lower, upper, 1_000_000, 1e-6, 3000 / 1e18)
        assert math.isclose(p.amount0 * 1e-6 + p.amount1 * 3000 / 1e18, 1_000_000, rel_tol=1e-9)
