"""Simulation of settlements before anything is signed or sent.

Two steps, both plain JSON-RPC against the node the keeper follows:

* :meth:`Simulator.check_orders` asks the executor's ``checkOrder`` view about every order in
  one JSON-RPC batch: orders that would fail on their own (expired, nonce used, balance or
  allowance gone, bad signature) are found without simulating the batch.
* :meth:`Simulator.estimate` runs ``eth_estimateGas`` on the exact settlement calldata: the gas
  it needs, or the decoded custom error it reverts with.

The relay's ``eth_callBundle`` (the signed bundle against the target block) is the third,
done by the pipeline through the relay client. RPC failures raise :class:`RpcError`, which the
pipeline counts against its failure budget without losing intents.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from keeper.intents.types import Order
from keeper.rpc import RpcError, retrying
from keeper.settlement.abi import DecodedError, ErrorDecoder, encode_check_order
from keeper.settlement.transaction import Settlement

OK_STATUS = b"\x00" * 4


@dataclass(frozen=True)
class Simulation:
    gas_used: int | None
    error: DecodedError | None = None
    logs: list[dict[str, Any]] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.error is None


def _revert_data(error: Any) -> bytes | None:
    """Revert data of a JSON-RPC error object (code 3 'execution reverted'), if any."""
    if not isinstance(error, dict):
        return None
    data = error.get("data")
    if isinstance(data, dict):  # some nodes nest it
        data = data.get("data")
    if isinstance(data, str) and data.startswith("0x"):
        return bytes.fromhex(data[2:])
    message = str(error.get("message", ""))
    return b"" if "revert" in message else None


class Simulator:
    """Pre-checks and simulates settlements on one node.

    Args:
        web3: a connected ``Web3`` (its provider is used for raw JSON-RPC).
        executor: the BatchExecutor address.
        keeper: the address that will send the settlement (``msg.sender``).
        decoder: maps revert data and statuses to the executor's custom errors.
    """

    def __init__(self, web3: Any, executor: str, keeper: str, decoder: ErrorDecoder) -> None:
        self.provider = web3.provider
        self.executor = executor
        self.keeper = keeper
        self.decoder = decoder
        self.simulate_v1 = True  # until the node says it has no eth_simulateV1

    def _request(self, method: str, params: list[Any]) -> dict[str, Any]:
        try:
            response = retrying(lambda: self.provider.make_request(method, params))
        except (OSError, ValueError) as err:  # connection refused, timeout, bad JSON
            raise RpcError(method, f"{type(err).__name__}: {err}") from None
        return dict(response)

    def check_orders(self, orders: Sequence[Order], block: str = "latest") -> list[str | None]:
        """For each order: ``None`` if ``checkOrder`` passes, else the failing error's name."""
        if not orders:
            return []
        requests = [
            (
                "eth_call",
                [
                    {"to": self.executor, "data": "0x" + encode_check_order(o, self.keeper).hex()},
                    block,
                ],
            )
            for o in orders
        ]
        try:
            responses = retrying(lambda: self.provider.make_batch_request(requests))
        except (OSError, ValueError) as err:
            raise RpcError("eth_call", f"{type(err).__name__}: {err}") from None
        if not isinstance(responses, list) or len(responses) != len(orders):
            raise RpcError("eth_call", f"batch answered {responses!r:.200}")
        statuses: list[str | None] = []
        for response in responses:
            if "error" in response:
                raise RpcError("eth_call", str(response["error"]))
            result = bytes.fromhex(str(response["result"])[2:])
            selector = result[:4] if len(result) >= 4 else OK_STATUS
            statuses.append(None if selector == OK_STATUS else self.decoder.name(selector))
        return statuses

    def estimate(self, settlement: Settlement, block: str = "latest") -> Simulation:
        """Run the exact settlement calldata once: gas used and logs, or the custom error.

        ``eth_simulateV1`` executes once and returns the logs (what each owner receives, for
        the delivery check after inclusion); nodes without it get ``eth_estimateGas``.
        """
        if self.simulate_v1:
            params = {"blockStateCalls": [{"calls": [settlement.call_params(self.keeper)]}]}
            response = self._request("eth_simulateV1", [params, block])
            if "error" not in response:
                call = response["result"][0]["calls"][0]
                if int(str(call["status"]), 16) == 1:
                    return Simulation(gas_used=int(str(call["gasUsed"]), 16), logs=call["logs"])
                data = bytes.fromhex(str(call.get("returnData", "0x"))[2:])
                return Simulation(gas_used=None, error=self.decoder.decode(data))
            if response["error"].get("code") != -32601:  # anything but "method not found"
                raise RpcError("eth_simulateV1", str(response["error"]))
            self.simulate_v1 = False
        response = self._request("eth_estimateGas", [settlement.call_params(self.keeper), block])
        if "error" in response:
            revert = _revert_data(response["error"])
            if revert is None:
                raise RpcError("eth_estimateGas", str(response["error"]))
            return Simulation(gas_used=None, error=self.decoder.decode(revert))
        return Simulation(gas_used=int(str(response["result"]), 16))
