"""The local relay: a real HTTP JSON-RPC server on loopback that speaks the Flashbots protocol.

It sits in front of an anvil node and is that node's block builder (see
:mod:`keeper.relay.builder`). Use it in-process::

    with LocalRelay(anvil_url) as relay:          # automine off; the relay builds blocks
        client = RelayClient(relay.url, reputation_key)
        client.send_bundle(bundle, target_block=head + 1)
        relay.mine_block()                         # build block head+1 (or block_time=...)

or as a process: ``keeper relay serve --upstream URL --port N [--block-time S]``.

Signed methods (``eth_sendBundle``, ``eth_callBundle``, ``eth_cancelBundle``,
``eth_sendPrivateTransaction``, ``eth_cancelPrivateTransaction``) need a valid
``X-Flashbots-Signature``; a missing or wrong one is refused with HTTP 403 and a JSON-RPC error
(code -32600, ``id: null``) as relay.flashbots.net answers. Read-only ``eth_*``/``net_*``/
``web3_*`` calls (and ``eth_simulateV1``) are forwarded to anvil under the builder's lock, so
readers never see a trial block; a JSON-RPC batch of such reads goes to anvil as one batch.
``eth_sendRawTransaction`` is refused (the relay is not a public mempool). With
``forward_reads=False`` (``keeper relay serve --no-reads``) it answers reads as
relay.flashbots.net does: "method not found" — a relay is not a node.
``localrelay_mineBlock`` (unsigned, local only) builds a block for callers in other processes.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from dataclasses import asdict
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from pydantic import BaseModel, ValidationError

from keeper.lifecycle import Service
from keeper.relay import constants
from keeper.relay.builder import BlockBuilder, BlockRecord
from keeper.relay.exceptions import InvalidBundleError, RelayError, SignatureError, UpstreamError
from keeper.relay.models import (
    CallBundleParams,
    CancelBundleParams,
    CancelPrivateTxParams,
    DelayedRefundsResult,
    DelayedRefundTotals,
    FeeRefundsResult,
    FeeRefundTotals,
    SendBundleParams,
    SendPrivateTxParams,
)
from keeper.relay.refunds import WALLET_FLOAT_WEI, RefundWallet
from keeper.relay.signing import recover_signer
from keeper.relay.simulation import simulate_bundle
from keeper.relay.upstream import Upstream, UpstreamRpcError

log = logging.getLogger(__name__)

#: Forwarded to anvil (reads only: nothing that adds a transaction or changes the chain).
FORWARDED_PREFIXES = ("eth_get", "eth_call", "eth_estimateGas", "net_", "web3_")
FORWARDED_METHODS = frozenset(
    {
        "eth_chainId",
        "eth_blockNumber",
        "eth_gasPrice",
        "eth_maxPriorityFeePerGas",
        "eth_feeHistory",
        "eth_simulateV1",  # a simulation on a copy of the state: changes nothing
    }
)
#: Most requests one JSON-RPC batch may hold (a keeper's pool read is a few hundred).
MAX_BATCH = 10_000


def is_forwarded(method: str) -> bool:
    """A read the relay passes to anvil (never a signed relay method, never a write)."""
    if method in constants.SIGNED_METHODS:
        return False
    return method in FORWARDED_METHODS or method.startswith(FORWARDED_PREFIXES)


class RpcReplyError(Exception):
    """Internal: an error to answer with (code, message, HTTP status)."""

    def __init__(self, code: int, message: str, status: int = 200) -> None:
        self.code, self.message, self.status = code, message, status
        super().__init__(message)


def _params(model: type[BaseModel], params: list[Any]) -> Any:
    if not params or not isinstance(params[0], dict):
        raise RpcReplyError(constants.CODE_INVALID_PARAMS, "invalid params: expected one object")
    try:
        return model.model_validate(params[0])
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise RpcReplyError(
            constants.CODE_INVALID_PARAMS, f"invalid params: {where}: {first['msg']}"
        ) from err


class RelayService:
    """Protocol logic independent of HTTP: verify, dispatch, answer."""

    def __init__(
        self, upstream: Upstream, builder: BlockBuilder, forward_reads: bool = True
    ) -> None:
        self.up = upstream
        self.builder = builder
        self.forward_reads = forward_reads

    def forwards(self, method: str) -> bool:
        return self.forward_reads and is_forwarded(method)

    def handle(self, body: bytes, signature: str | None) -> tuple[int, Any]:
        """(HTTP status, JSON-RPC response object, or a list of them for a batch)."""
        request_id: Any = None
        try:
            try:
                request = json.loads(body)
            except ValueError as err:
                raise RpcReplyError(constants.CODE_PARSE_ERROR, f"parse error: {err}", 400) from err
            if isinstance(request, list):
                return 200, self.handle_batch(request)
            if not isinstance(request, dict) or not isinstance(request.get("method"), str):
                raise RpcReplyError(constants.CODE_INVALID_REQUEST, "invalid request", 400)
            method, params = request["method"], request.get("params") or []
            if self.forwards(method) and isinstance(params, list):
                # anvil's answer as it is: an error keeps its data (revert bytes)
                return 200, self.handle_batch([request])[0]
            signer = None
            if method in constants.SIGNED_METHODS:
                try:
                    signer = recover_signer(body, signature)
                except SignatureError as err:
                    raise RpcReplyError(constants.CODE_INVALID_REQUEST, err.problem, 403) from err
            request_id = request.get("id")
            result = self.dispatch(method, params, signer)
            return 200, {"jsonrpc": "2.0", "id": request_id, "result": result}
        except RpcReplyError as failure:
            error = {"code": failure.code, "message": failure.message}
            return failure.status, {"jsonrpc": "2.0", "id": request_id, "error": error}

    def handle_batch(self, items: list[Any]) -> list[dict[str, Any]]:
        """A JSON-RPC batch of forwarded reads: sent to anvil as one batch under the builder's
        lock (one consistent head, never a trial block); anvil's answers are passed on as they
        are (errors keep their ``data``, e.g. revert bytes). Anything else in a batch — relay
        methods (signed, per request), writes, malformed items — gets its own error."""
        if not items or len(items) > MAX_BATCH:
            problem = "empty batch" if not items else f"batch of {len(items)} > {MAX_BATCH}"
            error = {
                "code": constants.CODE_INVALID_REQUEST,
                "message": f"invalid request: {problem}",
            }
            return [{"jsonrpc": "2.0", "id": None, "error": error}]
        replies: list[dict[str, Any] | None] = [None] * len(items)
        forward: list[tuple[int, Any, str, list[Any]]] = []
        for k, item in enumerate(items):
            request_id = item.get("id") if isinstance(item, dict) else None
            method = item.get("method") if isinstance(item, dict) else None
            params = (item.get("params") or []) if isinstance(item, dict) else None
            if not isinstance(method, str) or not isinstance(params, list):
                code, message = constants.CODE_INVALID_REQUEST, "invalid request"
            elif not self.forward_reads:
                code, message = constants.CODE_METHOD_NOT_FOUND, f"method not found: {method}"
            elif not is_forwarded(method):
                code = constants.CODE_INVALID_REQUEST
                message = f"{method} cannot be batched: a batch may hold only chain reads"
            else:
                forward.append((k, request_id, method, params))
                continue
            error = {"code": code, "message": message}
            replies[k] = {"jsonrpc": "2.0", "id": request_id, "error": error}
        if forward:
            try:
                with self.builder.lock:
                    answers = self.up.request_batch([(m, p) for _, _, m, p in forward])
            except RelayError as err:  # upstream down
                failed = {"error": {"code": constants.CODE_SERVER_ERROR, "message": str(err)}}
                answers = [failed] * len(forward)
            for (k, request_id, _, _), answer in zip(forward, answers, strict=True):
                reply: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
                reply.update((key, answer[key]) for key in ("result", "error") if key in answer)
                replies[k] = reply
        return [r for r in replies if r is not None]

    def dispatch(self, method: str, params: list[Any], signer: str | None) -> Any:
        builder = self.builder
        try:
            if method == "eth_sendBundle":
                received_ms = time.time() * 1000
                bundle_hash = builder.add_bundle(_params(SendBundleParams, params), str(signer))
                return {"bundleHash": bundle_hash, "receivedTimestampMs": received_ms}
            if method == "eth_callBundle":
                return simulate_bundle(builder, _params(CallBundleParams, params)).wire()
            if method == "eth_cancelBundle":
                uuid = _params(CancelBundleParams, params).replacement_uuid
                builder.cancel_bundle(uuid, str(signer))
                return None
            if method == "eth_sendPrivateTransaction":
                return builder.add_private(_params(SendPrivateTxParams, params), str(signer))
            if method == "eth_cancelPrivateTransaction":
                tx_hash = _params(CancelPrivateTxParams, params).tx_hash
                return builder.cancel_private(tx_hash, str(signer))
            if method.startswith("buildernet_"):
                return refund_query(builder, method, params)
            if method == "localrelay_mineBlock":
                with_orders = bool((params[0] if params else {}).get("includeBundles", True))
                return asdict(builder.build_block(with_orders))
        except InvalidBundleError as err:
            raise RpcReplyError(constants.CODE_INVALID_PARAMS, str(err)) from err
        except UpstreamRpcError as err:
            raise RpcReplyError(err.code, err.message) from err
        except RelayError as err:  # upstream down, build invariant broken
            raise RpcReplyError(constants.CODE_SERVER_ERROR, str(err)) from err
        raise RpcReplyError(constants.CODE_METHOD_NOT_FOUND, f"method not found: {method}")


def _hex_block(value: Any, name: str) -> int:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise RpcReplyError(constants.CODE_INVALID_PARAMS, f"invalid params: {name}: expected hex")
    try:
        return int(value, 16)
    except ValueError as err:
        raise RpcReplyError(
            constants.CODE_INVALID_PARAMS, f"invalid params: {name}: expected hex"
        ) from err


def _first(params: list[Any], kind: type) -> Any:
    if not params or not isinstance(params[0], kind):
        raise RpcReplyError(
            constants.CODE_INVALID_PARAMS, f"invalid params: expected one {kind.__name__}"
        )
    return params[0]


def refund_query(builder: BlockBuilder, method: str, params: list[Any]) -> Any:
    """BuilderNet's refund queries, answered from the local builder's refund ledger."""
    ledger = builder.ledger
    indexed = builder.history[-1].number if builder.history else 0
    if method == "buildernet_getFeeRefundsByBundle":
        found = ledger.query(bundle_hash=_first(params, str))
    elif method == "buildernet_getFeeRefundsByBlock":
        query = _first(params, dict)
        found = ledger.query(block=_hex_block(query.get("block_number"), "block_number"))
    elif method == "buildernet_getFeeRefundsByRecipient":
        found = ledger.query(recipient=str(_first(params, dict).get("recipient")))
    elif method == "buildernet_getFeeRefundTotalsByRecipient":
        pending, received = ledger.totals(_first(params, str))
        return FeeRefundTotals(pending=pending, received=received, max_block_number=indexed).wire()
    elif method in ("buildernet_getDelayedRefunds", "buildernet_getDelayedRefundTotalsByRecipient"):
        query = _first(params, dict)
        span = None
        if "blockRangeFrom" in query or "blockRangeTo" in query:
            span = (
                _hex_block(query.get("blockRangeFrom", "0x0"), "blockRangeFrom"),
                _hex_block(query.get("blockRangeTo", hex(indexed)), "blockRangeTo"),
            )
        if query.get("hash") is not None and span is None:
            raise RpcReplyError(
                constants.CODE_INVALID_PARAMS,
                "invalid params: hash needs blockRangeFrom and blockRangeTo",
            )
        recipient = str(query.get("recipient"))
        if method == "buildernet_getDelayedRefundTotalsByRecipient":
            pending, received = ledger.totals(recipient, delayed=True, block_range=span)
            return DelayedRefundTotals(
                indexed_up_to=indexed, pending=pending, received=received
            ).wire()
        found = ledger.query(
            recipient=recipient, delayed=True, block_range=span, bundle_hash=query.get("hash")
        )
        return DelayedRefundsResult(refunds=[e.wire() for e in found], indexed_up_to=indexed).wire()
    else:
        raise RpcReplyError(constants.CODE_METHOD_NOT_FOUND, f"method not found: {method}")
    return FeeRefundsResult(refunds=[e.wire() for e in found]).wire()


class _Handler(BaseHTTPRequestHandler):
    server: _RelayHTTPServer
    protocol_version = "HTTP/1.1"
    # The status line and headers go out in one write, the body in a second: with Nagle's
    # algorithm on, the body waits for the client's delayed ACK (40 ms on Linux) every call.
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        status, response = self.server.service.handle(
            body, self.headers.get(constants.SIGNATURE_HEADER)
        )
        payload = json.dumps(response).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s " + format, self.address_string(), *args)


class _RelayHTTPServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], service: RelayService) -> None:
        self.service = service
        super().__init__(address, _Handler)


class LocalRelay(Service):
    """The local relay server and block builder for one anvil.

    Args:
        upstream_url: the anvil JSON-RPC URL (run anvil with ``--order fifo``).
        host / port: where to listen (port 0 picks a free one).
        block_time: if set, a background thread builds a block every ``block_time`` seconds;
            otherwise blocks are built only by :meth:`mine_block`.
    """

    def __init__(
        self,
        upstream_url: str,
        host: str = "127.0.0.1",
        port: int = 0,
        block_time: float | None = None,
        forward_reads: bool = True,
    ) -> None:
        self.upstream = Upstream(upstream_url)
        self.builder = BlockBuilder(self.upstream)
        self.service = RelayService(self.upstream, self.builder, forward_reads)
        self.host, self.port, self.block_time = host, port, block_time
        self._server: _RelayHTTPServer | None = None
        self._threads: list[threading.Thread] = []
        self._stop = threading.Event()
        self._automine_was: bool | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def history(self) -> list[BlockRecord]:
        return self.builder.history

    def start(self) -> LocalRelay:
        try:
            self._automine_was = bool(self.upstream.call("anvil_getAutomine"))
            self.upstream.call("evm_setAutomine", False)
            self.upstream.call("evm_setIntervalMining", 0)
            self._start_refunds()
        except UpstreamError as err:
            raise UpstreamError(
                "start", f"{self.upstream.url} is not a usable anvil: {err}"
            ) from err
        self._server = _RelayHTTPServer((self.host, self.port), self.service)
        self.port = int(self._server.server_address[1])
        self._stop.clear()
        serve = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name="local-relay",
            daemon=True,
        )
        serve.start()
        self._threads = [serve]
        if self.block_time:
            miner = threading.Thread(target=self._mine_loop, name="local-relay-miner", daemon=True)
            miner.start()
            self._threads.append(miner)
        return self

    def _start_refunds(self) -> None:
        """The refund wallet becomes the coinbase (the builder's tips fund the refunds) and gets
        its working capital (see :mod:`keeper.relay.refunds`)."""
        chain_id = int(self.upstream.call("eth_chainId"), 16)
        wallet = RefundWallet(chain_id, 0)
        self.upstream.call("anvil_setCoinbase", wallet.address)
        balance = int(self.upstream.call("eth_getBalance", wallet.address, "latest"), 16)
        if balance < WALLET_FLOAT_WEI:
            self.upstream.call("anvil_setBalance", wallet.address, hex(WALLET_FLOAT_WEI))
        self.builder.wallet = wallet

    def _mine_loop(self) -> None:
        assert self.block_time is not None
        while not self._stop.wait(self.block_time):
            try:
                self.mine_block()
            except RelayError:
                log.exception("local relay: block production stopped")
                return

    def mine_block(self, include_bundles: bool = True) -> BlockRecord:
        """Build the next block now (see :meth:`BlockBuilder.build_block`)."""
        return self.builder.build_block(include_bundles)

    def stop(self) -> None:
        self._stop.set()
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        for thread in self._threads:
            thread.join(timeout=5)
        self._threads = []
        if self._automine_was:
            try:
                self.upstream.call("evm_setAutomine", True)
            except UpstreamError:
                log.warning("local relay: could not restore automine on %s", self.upstream.url)
