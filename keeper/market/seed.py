"""Deploy and seed the local market on an anvil.

:func:`seed` works on any anvil (chain id 1 to play mainnet) through plain web3 and anvil's
cheat RPCs: canonical contracts are created by replaying their mainnet creation (impersonated
original deployer at the original nonce), the rest come from :data:`MARKET_DEPLOYER` at fixed
nonces, and the liquidity provider's tokens are minted (test tokens) or wrapped (WETH).
Re-seeding a seeded chain is a no-op that returns the same description; seeding a chain that
already has other code at the canonical addresses (e.g. a real mainnet fork) is refused.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from typing import Any

from keeper.market import liquidity
from keeper.market.addresses import (
    CANONICAL,
    MARKET_DEPLOYER,
    POSITION_DESCRIPTOR,
    create_address,
)
from keeper.market.deployments import LOCAL_NONCES, Market, describe_market, token_address
from keeper.market.exceptions import MarketAlreadyPresentError, SeedingError
from keeper.market.spec import DEFAULT_SPEC, TICK_SPACING, MarketSpec, TokenSpec

#: name -> (abi, creation bytecode hex)
ContractSource = Callable[[str], tuple[list[dict[str, Any]], str]]

_MAX_UINT = 2**256 - 1
_DEADLINE = 2**64
_ETH = 10**18
#: Storage slots copied when a contract is etched (covers the constructor-set fields of the
#: etched contracts: OpenZeppelin ERC20 name/symbol live in slots 3 and 4).
_ETCH_SLOTS = 8
TOKEN_CONTRACTS = {
    "standard": "TestToken",
    "no-return": "NoReturnToken",
    "fee-on-transfer": "FeeOnTransferToken",
}


def default_source(name: str) -> tuple[list[dict[str, Any]], str]:
    """ABI and creation code: npm artifacts for protocol contracts, Ape's build for ours."""
    from keeper.chain.artifacts import ARTIFACTS, contract_type

    npm = name in ARTIFACTS
    ct = contract_type(name) if npm else _project().get_contract(name).contract_type
    abi = [entry.model_dump(mode="json", by_alias=True) for entry in ct.abi]
    code = ct.deployment_bytecode.bytecode if ct.deployment_bytecode else None
    if not code:
        raise SeedingError("compile", f"{name} has no creation bytecode")
    return abi, code


def _project() -> Any:
    """This repository's Ape project, whatever the working directory."""
    from keeper.chain.project import repo_project

    return repo_project()


def seed(
    w3: Any,
    liquidity_provider: str,
    spec: MarketSpec = DEFAULT_SPEC,
    source: ContractSource = default_source,
) -> Market:
    """Deploy and fund the market of ``spec`` on the anvil behind ``w3``; LP positions and V2
    liquidity tokens go to ``liquidity_provider``. Returns the market's description."""
    market = describe_market(spec, chain_id=w3.eth.chain_id)
    fot_like = [t for t in market.tokens if not t.canonical]
    marker = fot_like[0].address if fot_like else market.contracts["UniswapV3Factory"]
    if _has_code(w3, marker):
        missing = [p.address for p in market.pools if not _has_code(w3, p.address)]
        if missing:
            raise SeedingError("check", f"chain is partly seeded; pools without code: {missing}")
        return market
    for name, slot in CANONICAL.items():
        if _has_code(w3, slot.address):
            raise MarketAlreadyPresentError(name, slot.address, w3.eth.chain_id)
    _Seeder(w3, spec, market, liquidity_provider, source).run()
    missing = [p.address for p in market.pools if not _has_code(w3, p.address)]
    if missing:
        raise SeedingError("verify", f"pools not at their computed addresses: {missing}")
    return market


def _has_code(w3: Any, address: str) -> bool:
    return len(w3.eth.get_code(address)) > 0


class _Seeder:
    def __init__(
        self, w3: Any, spec: MarketSpec, market: Market, lp: str, source: ContractSource
    ) -> None:
        self.w3 = w3
        self.spec = spec
        self.market = market
        self.lp = w3.to_checksum_address(lp)
        self.source = source
        self.token_specs: dict[str, TokenSpec] = {t.symbol: t for t in spec.tokens}

    # -- plumbing -----------------------------------------------------------------------------

    def rpc(self, method: str, params: Sequence[Any]) -> Any:
        response = self.w3.provider.make_request(method, list(params))
        if "error" in response:
            raise SeedingError(method, str(response["error"]))
        return response.get("result")

    def impersonate(self, address: str, nonce: int | None = None) -> None:
        self.rpc("anvil_impersonateAccount", [address])
        self.rpc("anvil_setBalance", [address, hex(1_000 * _ETH)])
        if nonce is not None:
            self.rpc("anvil_setNonce", [address, hex(nonce)])

    def contract(self, name: str, address: str | None = None) -> Any:
        abi, code = self.source(name)
        if address is None:
            return self.w3.eth.contract(abi=abi, bytecode=code)
        return self.w3.eth.contract(address=address, abi=abi)

    def send(self, step: str, call: Any, sender: str, value: int = 0) -> Any:
        try:
            tx_hash = call.transact({"from": sender, "value": value})
        except Exception as err:  # web3 raises many types for a reverting estimate
            raise SeedingError(step, f"{type(err).__name__}: {err}") from err
        receipt = self.w3.eth.wait_for_transaction_receipt(tx_hash)
        if receipt["status"] != 1:
            raise SeedingError(step, f"transaction {tx_hash.hex()} reverted")
        return receipt

    def deploy(self, name: str, deployer: str, nonce: int, args: Sequence[Any], at: str) -> None:
        self.impersonate(deployer, nonce)
        receipt = self.send(f"deploy {name}", self.contract(name).constructor(*args), deployer)
        if receipt["contractAddress"] != at:
            raise SeedingError(f"deploy {name}", f"landed at {receipt['contractAddress']}")

    def etch(self, template: str, target: str) -> None:
        """Copy ``template``'s runtime code and first storage slots to ``target``."""
        code = self.w3.eth.get_code(template)
        self.rpc("anvil_setCode", [target, "0x" + bytes(code).hex()])
        for slot in range(_ETCH_SLOTS):
            value = bytes(self.w3.eth.get_storage_at(template, slot))
            if any(value):
                key = "0x" + slot.to_bytes(32, "big").hex()
                self.rpc("anvil_setStorageAt", [target, key, "0x" + value.rjust(32, b"\0").hex()])

    # -- steps --------------------------------------------------------------------------------

    def run(self) -> None:
        self.deploy_protocol()
        self.deploy_tokens()
        v2, v3 = self.plan_liquidity()
        self.fund_provider(v2, v3)
        self.add_v2(v2)
        self.add_v3(v3)

    def deploy_protocol(self) -> None:
        weth = CANONICAL["WETH9"].address
        v2f = CANONICAL["UniswapV2Factory"].address
        v3f = CANONICAL["UniswapV3Factory"].address
        plan: list[tuple[str, tuple[Any, ...]]] = [
            ("WETH9", ()),
            ("UniswapV2Factory", (CANONICAL["UniswapV2Factory"].deployer,)),
            ("UniswapV2Router02", (v2f, weth)),
            ("UniswapV3Factory", ()),
            ("SwapRouter", (v3f, weth)),
            ("NonfungiblePositionManager", (v3f, weth, POSITION_DESCRIPTOR)),
            ("QuoterV2", (v3f, weth)),
        ]
        for name, args in plan:
            slot = CANONICAL[name]
            assert slot.deployer is not None and slot.nonce is not None
            self.deploy(name, slot.deployer, slot.nonce, args, slot.address)
        # The 0.01% tier is not in the factory's constructor; mainnet governance enabled it.
        owner = CANONICAL["UniswapV3Factory"].deployer
        assert owner is not None
        factory = self.contract("UniswapV3Factory", v3f)
        self.send("enable 0.01% tier", factory.functions.enableFeeAmount(100, 1), owner)
        template = self._local_address("TickLens-template")
        self.deploy("TickLens", MARKET_DEPLOYER, LOCAL_NONCES["TickLens-template"], (), template)
        self.etch(template, CANONICAL["TickLens"].address)

    def _local_address(self, key: str) -> str:
        return create_address(MARKET_DEPLOYER, LOCAL_NONCES[key])

    def deploy_tokens(self) -> None:
        for token in self.spec.tokens:
            if token.kind == "weth":
                continue
            contract = TOKEN_CONTRACTS[token.kind]
            if token.kind == "fee-on-transfer":
                args: tuple[Any, ...] = (token.name, token.symbol, token.fee_bps)
            else:
                args = (token.name, token.symbol, token.decimals)
            target = token_address(token.symbol, self.spec)
            slot = CANONICAL.get(token.canonical or "")
            if slot is not None and slot.deployer is not None and slot.nonce is not None:
                self.deploy(contract, slot.deployer, slot.nonce, args, target)
            elif slot is not None:
                template = self._local_address(f"{token.symbol}-template")
                nonce = LOCAL_NONCES[f"{token.symbol}-template"]
                self.deploy(contract, MARKET_DEPLOYER, nonce, args, template)
                self.etch(template, target)
            else:
                self.deploy(contract, MARKET_DEPLOYER, LOCAL_NONCES[token.symbol], args, target)

    def _unit_usd(self, symbol: str) -> float:
        token = self.token_specs[symbol]
        return token.usd_price / 10**token.decimals

    def plan_liquidity(
        self,
    ) -> tuple[list[tuple[str, str, int, int]], list[tuple[Any, int, list[liquidity.Position]]]]:
        v2: list[tuple[str, str, int, int]] = []
        v3: list[tuple[Any, int, list[liquidity.Position]]] = []
        for pool_spec, pool in zip(self.spec.pools, self.market.pools, strict=True):
            if pool.dex == "uniswap-v2":
                amount_a, amount_b = liquidity.v2_amounts(
                    pool_spec.tvl_usd,
                    self._unit_usd(pool_spec.token_a),
                    self._unit_usd(pool_spec.token_b),
                )
                v2.append((pool_spec.token_a, pool_spec.token_b, amount_a, amount_b))
                continue
            t0 = self.market.token(pool.token0)
            t1 = self.market.token(pool.token1)
            price = liquidity.raw_price(t0.usd_price, t0.decimals, t1.usd_price, t1.decimals)
            spacing = TICK_SPACING[pool.fee]
            positions = []
            for band in pool_spec.bands:
                lower, upper = liquidity.band_ticks(price, band.half_width, spacing)
                positions.append(
                    liquidity.position(
                        price,
                        lower,
                        upper,
                        pool_spec.tvl_usd * band.weight,
                        self._unit_usd(t0.symbol),
                        self._unit_usd(t1.symbol),
                    )
                )
            v3.append((pool, liquidity.sqrt_price_x96(price), positions))
        return v2, v3

    def fund_provider(
        self,
        v2: list[tuple[str, str, int, int]],
        v3: list[tuple[Any, int, list[liquidity.Position]]],
    ) -> None:
        need: dict[str, int] = defaultdict(int)
        for a, b, amount_a, amount_b in v2:
            need[a] += amount_a
            need[b] += amount_b
        for pool, _, positions in v3:
            need[self.market.token(pool.token0).symbol] += sum(p.amount0 for p in positions)
            need[self.market.token(pool.token1).symbol] += sum(p.amount1 for p in positions)
        self.impersonate(self.lp)
        routers = (
            CANONICAL["UniswapV2Router02"].address,
            CANONICAL["NonfungiblePositionManager"].address,
        )
        for symbol, amount in sorted(need.items()):
            token = self.market.token(symbol)
            if token.kind == "weth":
                weth = self.contract("WETH9", token.address)
                eth = math.ceil(amount / _ETH) * _ETH + 1_000 * _ETH
                self.rpc("anvil_setBalance", [self.lp, hex(eth)])
                self.send("wrap ETH", weth.functions.deposit(), self.lp, value=amount)
                erc20 = weth
            else:
                erc20 = self.contract(TOKEN_CONTRACTS[token.kind], token.address)
                self.send(f"mint {symbol}", erc20.functions.mint(self.lp, amount), self.lp)
            for spender in routers:
                self.send(f"approve {symbol}", erc20.functions.approve(spender, _MAX_UINT), self.lp)

    def add_v2(self, v2: list[tuple[str, str, int, int]]) -> None:
        router = self.contract("UniswapV2Router02", CANONICAL["UniswapV2Router02"].address)
        for a, b, amount_a, amount_b in v2:
            call = router.functions.addLiquidity(
                self.market.token(a).address,
                self.market.token(b).address,
                amount_a,
                amount_b,
                0,
                0,
                self.lp,
                _DEADLINE,
            )
            self.send(f"V2 {a}/{b}", call, self.lp)

    def add_v3(self, v3: list[tuple[Any, int, list[liquidity.Position]]]) -> None:
        manager = self.contract(
            "NonfungiblePositionManager", CANONICAL["NonfungiblePositionManager"].address
        )
        for pool, sqrt_price, positions in v3:
            step = f"V3 {self.market.token(pool.token0).symbol}/"
            step += f"{self.market.token(pool.token1).symbol} {pool.fee}"
            create = manager.functions.createAndInitializePoolIfNecessary(
                pool.token0, pool.token1, pool.fee, sqrt_price
            )
            self.send(step, create, self.lp)
            for p in positions:
                params = (
                    pool.token0,
                    pool.token1,
                    pool.fee,
                    p.tick_lower,
                    p.tick_upper,
                    p.amount0,
                    p.amount1,
                    0,
                    0,
                    self.lp,
                    _DEADLINE,
                )
                self.send(step, manager.functions.mint(params), self.lp)


def seed_market(account: Any, spec: MarketSpec = DEFAULT_SPEC) -> Market:
    """Seed the market on the anvil Ape is connected to; ``account`` (an Ape account) becomes
    the liquidity provider. The function behind ``ape run seed_market``."""
    from ape import chain

    return seed(chain.provider.web3, account.address, spec)
