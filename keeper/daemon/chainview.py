"""What the pipeline reads from the chain each block: the head, receipts, nonces.

Plain JSON-RPC through web3's provider; every failure becomes :class:`RpcError` (transient), so
a node that hiccups costs one cycle of the failure budget, never an intent.
"""

from __future__ import annotations

from typing import Any

from keeper.chain.head import Head
from keeper.intents.chainstate import Web3ChainState
from keeper.rpc import RpcError, retrying


class ChainView:
    """Reads for one executor on one node (``web3`` from Ape or a plain ``Web3``)."""

    def __init__(self, web3: Any, executor: str) -> None:
        self.web3 = web3
        self.state = Web3ChainState(web3, executor)

    def _rpc(self, method: str, params: list[Any]) -> Any:
        try:
            response = retrying(lambda: self.web3.provider.make_request(method, params))
        except (OSError, ValueError) as err:
            raise RpcError(method, f"{type(err).__name__}: {err}") from None
        if "error" in response:
            raise RpcError(method, str(response["error"]))
        return response.get("result")

    def block_number(self) -> int:
        return int(self._rpc("eth_blockNumber", []), 16)

    def head(self) -> Head:
        block = self._rpc("eth_getBlockByNumber", ["latest", False])
        return Head(
            number=int(block["number"], 16),
            timestamp=int(block["timestamp"], 16),
            base_fee=int(block.get("baseFeePerGas", "0x0"), 16),
            gas_used=int(block["gasUsed"], 16),
            gas_limit=int(block["gasLimit"], 16),
        )

    def receipt(self, tx_hash: str) -> dict[str, Any] | None:
        result = self._rpc("eth_getTransactionReceipt", [tx_hash])
        return dict(result) if result else None

    def account_nonce(self, address: str, block: str = "latest") -> int:
        return int(self._rpc("eth_getTransactionCount", [address, block]), 16)

    def nonce_used(self, owner: str, nonce: int) -> bool:
        try:
            return retrying(lambda: self.state.nonce_used(owner, nonce))
        except (OSError, ValueError) as err:
            raise RpcError("eth_call", f"isNonceUsed: {err}") from None

    def balance(self, address: str, block: str = "latest") -> int:
        """Wei held by ``address``."""
        return int(str(self._rpc("eth_getBalance", [address, block])), 16)

    def has_code(self, address: str, block: str = "latest") -> bool:
        return str(self._rpc("eth_getCode", [address, block])) not in ("0x", "0x0", "")
