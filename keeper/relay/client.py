"""Flashbots relay client: bundles to several relays/builders at once, simulation, cancellation.

Usage::

    client = RelayClient(["https://relay.flashbots.net"], reputation_account)
    sim = client.call_bundle(bundle, block_number=head + 1)      # eth_callBundle
    if sim.first_revert is None:
        submission = client.send_bundle(bundle, target_block=head + 1)   # eth_sendBundle

``send_bundle`` fans out to every URL concurrently and succeeds when at least one accepted the
bundle (per-URL outcomes are kept on the returned :class:`BundleSubmission`). ``call_bundle``
asks the first URL (the simulation endpoint). The client is synchronous and thread-safe.

Endpoints may be plain URLs or :class:`BuilderTarget` entries that say what each builder accepts:
BuilderNet's refund fields (sent only to builders that take them: others get the plain Flashbots
body), cancellation, refund queries, and a request budget (:mod:`keeper.relay.ratelimit`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from keeper.relay.bundle import Bundle, RawTx, raw_bytes, tx_hash
from keeper.relay.exceptions import (
    InvalidBundleError,
    NoRelayAcceptedError,
    RelayError,
    RelayResponseError,
)
from keeper.relay.models import (
    CallBundleParams,
    CallBundleResult,
    CancelBundleParams,
    CancelPrivateTxParams,
    DelayedRefundsResult,
    FeeRefundsResult,
    FeeRefundTotals,
    PrivateTxPreferences,
    SendBundleParams,
    SendBundleResult,
    SendPrivateTxParams,
)
from keeper.relay.ratelimit import EndpointLimiter, RateLimit
from keeper.relay.signing import MessageSigner
from keeper.relay.transport import RelayEndpoint, SignedRequest, prepare

M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class BuilderTarget:
    """One relay or builder endpoint and what it accepts.

    Args:
        url: the endpoint.
        name: how logs and metrics call it (default: the URL).
        refunds: takes BuilderNet's refund fields on ``eth_sendBundle`` (others get the bundle
            without them: an unknown field may make a builder refuse the whole bundle).
        cancellation: takes ``eth_cancelBundle`` (BuilderNet cancels by a new bundle with the
            same ``replacementUuid`` and no transactions instead).
        refund_queries: answers ``buildernet_getFeeRefunds*`` (BuilderNet: relay.flashbots.net).
        rate_limit: the endpoint's request budget, or None.
    """

    url: str
    name: str = ""
    refunds: bool = False
    cancellation: bool = True
    refund_queries: bool = False
    rate_limit: RateLimit | None = None

    @property
    def label(self) -> str:
        return self.name or self.url


@dataclass
class BundleSubmission:
    """Outcome of one ``eth_sendBundle`` fan-out."""

    bundle: Bundle
    target_block: int
    accepted: dict[str, SendBundleResult] = field(default_factory=dict)
    errors: dict[str, RelayError] = field(default_factory=dict)

    @property
    def bundle_hash(self) -> str:
        return self.bundle.hash

    def received_ms(self) -> dict[str, float]:
        """``receivedTimestampMs`` per URL that reported one (BuilderNet)."""
        return {
            url: r.received_timestamp_ms
            for url, r in self.accepted.items()
            if r.received_timestamp_ms is not None
        }


def _parse(model: type[M], url: str, method: str, result: Any) -> M:
    try:
        return model.model_validate(result)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "result"
        raise RelayResponseError(url, method, f"{where}: {first['msg']}") from err


class RelayClient:
    """Speak the Flashbots bundle protocol to one or more relay/builder URLs.

    Args:
        urls: relay and builder endpoints; the first one also serves ``eth_callBundle``.
        signer: reputation key signing every request (never the key that pays for gas).
        timeout / retries / backoff: per-endpoint HTTP behaviour (see :class:`RelayEndpoint`).
    """

    def __init__(
        self,
        urls: Sequence[str | BuilderTarget] | str | BuilderTarget,
        signer: MessageSigner,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        backoff: float = 0.2,
        max_wait_s: float = 0.5,
    ) -> None:
        items = [urls] if isinstance(urls, str | BuilderTarget) else list(urls)
        if not items:
            raise InvalidBundleError("urls", "at least one relay URL is required")
        self.targets = [t if isinstance(t, BuilderTarget) else BuilderTarget(t) for t in items]
        self.endpoints = [
            RelayEndpoint(t.url, signer, timeout=timeout, retries=retries, backoff=backoff)
            for t in self.targets
        ]
        self._target = {t.url: t for t in self.targets}
        self.limiters = {
            t.url: EndpointLimiter(t.url, t.rate_limit, max_wait_s=max_wait_s)
            for t in self.targets
            if t.rate_limit is not None
        }
        self.signer = signer

    @property
    def urls(self) -> list[str]:
        return [e.url for e in self.endpoints]

    # ------------------------------------------------------------------ fan-out helper

    def _call(
        self,
        endpoint: RelayEndpoint,
        method: str,
        params: list[Any],
        prepared: SignedRequest | None = None,
    ) -> Any:
        """One request, within the endpoint's budget (when it has one)."""
        limiter = self.limiters.get(endpoint.url)
        if limiter is None:
            return endpoint.call(method, params, prepared)
        with limiter.slot(method):
            return endpoint.call(method, params, prepared)

    def _fan_out(
        self,
        call: Callable[[RelayEndpoint], Any],
        where: Callable[[BuilderTarget], bool] | None = None,
    ) -> tuple[dict[str, Any], dict[str, RelayError]]:
        results: dict[str, Any] = {}
        errors: dict[str, RelayError] = {}
        endpoints = [e for e in self.endpoints if where is None or where(self._target[e.url])]
        if len(endpoints) == 1:
            only = endpoints[0]
            try:
                results[only.url] = call(only)
            except RelayError as err:
                errors[only.url] = err
            return results, errors
        if not endpoints:
            return results, errors
        with ThreadPoolExecutor(max_workers=len(endpoints)) as pool:
            futures = {e.url: pool.submit(call, e) for e in endpoints}
            for url, future in futures.items():
                try:
                    results[url] = future.result()
                except RelayError as err:
                    errors[url] = err
        return results, errors

    # ------------------------------------------------------------------ bundles

    def send_bundle(
        self,
        bundle: Bundle | Sequence[RawTx],
        target_block: int,
        **options: Any,
    ) -> BundleSubmission:
        """``eth_sendBundle`` to every URL at once, for one target block.

        ``bundle`` is a :class:`Bundle` or a list of signed transactions (then ``options`` are
        :meth:`Bundle.of` keywords). Raises :class:`NoRelayAcceptedError` when every URL failed.
        """
        if not isinstance(bundle, Bundle):
            bundle = Bundle.of(bundle, **options)
        if target_block < 1:
            raise InvalidBundleError(
                "blockNumber", f"target block must be positive, got {target_block}"
            )
        plain = SendBundleParams(
            txs=bundle.hex_txs(),
            block_number=target_block,
            min_timestamp=bundle.min_timestamp,
            max_timestamp=bundle.max_timestamp,
            reverting_tx_hashes=list(bundle.reverting_tx_hashes) or None,
            replacement_uuid=bundle.replacement_uuid,
            builders=list(bundle.builders) if bundle.builders is not None else None,
        ).wire()
        extended = {**plain, **bundle.buildernet_fields()}
        method = "eth_sendBundle"
        # each body is signed once; every endpoint of a kind receives the same bytes
        bodies = {False: (plain, prepare(method, [plain], self.signer))}
        bodies[True] = (
            (extended, prepare(method, [extended], self.signer))
            if extended != plain
            else bodies[False]
        )

        def send(endpoint: RelayEndpoint) -> SendBundleResult:
            params, prepared = bodies[self._target[endpoint.url].refunds]
            result = self._call(endpoint, method, [params], prepared)
            # Builders differ in how they say "accepted": ``{"bundleHash": ...}`` (Flashbots),
            # the bare hash, or ``null``. Each is an acceptance, not a broken answer.
            if isinstance(result, str):
                result = {"bundleHash": result}
            elif result is None:
                result = {"bundleHash": bundle.hash}
            return _parse(SendBundleResult, endpoint.url, method, result)

        accepted, errors = self._fan_out(send)
        if not accepted:
            raise NoRelayAcceptedError(method, errors)
        return BundleSubmission(bundle, target_block, accepted, errors)

    def call_bundle(
        self,
        bundle: Bundle | Sequence[RawTx],
        block_number: int,
        *,
        state_block: int | str = "latest",
        timestamp: int | None = None,
    ) -> CallBundleResult:
        """``eth_callBundle`` on the first URL: simulate on top of ``state_block``.

        A reverting transaction is not an error here: inspect ``result.first_revert``.
        """
        if not isinstance(bundle, Bundle):
            bundle = Bundle.of(bundle)
        state = hex(state_block) if isinstance(state_block, int) else state_block
        params = CallBundleParams(
            txs=bundle.hex_txs(),
            block_number=block_number,
            state_block_number=state,
            timestamp=timestamp,
        ).wire()
        endpoint = self.endpoints[0]
        result = self._call(endpoint, "eth_callBundle", [params])
        return _parse(CallBundleResult, endpoint.url, "eth_callBundle", result)

    def cancel_bundle(self, replacement_uuid: str) -> dict[str, RelayError]:
        """``eth_cancelBundle`` at every URL; returns the per-URL errors (empty when all ok)."""
        if not replacement_uuid:
            raise InvalidBundleError("replacementUuid", "must not be empty")
        params = CancelBundleParams(replacement_uuid=replacement_uuid).wire()
        prepared = prepare("eth_cancelBundle", [params], self.signer)
        accepted, errors = self._fan_out(
            lambda e: self._call(e, "eth_cancelBundle", [params], prepared),
            where=lambda t: t.cancellation,
        )
        if not accepted:
            raise NoRelayAcceptedError("eth_cancelBundle", errors)
        return errors

    # ------------------------------------------------------------------ private transactions

    def send_private_transaction(
        self,
        raw_tx: RawTx,
        *,
        max_block_number: int | None = None,
        fast: bool | None = None,
    ) -> str:
        """``eth_sendPrivateTransaction`` at every URL; returns the transaction hash."""
        raw = raw_bytes(raw_tx, "tx")
        params = SendPrivateTxParams(
            tx="0x" + raw.hex(),
            max_block_number=max_block_number,
            preferences=PrivateTxPreferences(fast=fast) if fast is not None else None,
        ).wire()
        method = "eth_sendPrivateTransaction"
        prepared = prepare(method, [params], self.signer)
        accepted, errors = self._fan_out(lambda e: self._call(e, method, [params], prepared))
        if not accepted:
            raise NoRelayAcceptedError(method, errors)
        expected = tx_hash(raw)
        for url, answer in accepted.items():
            if not isinstance(answer, str) or answer.lower() != expected:
                raise RelayResponseError(url, method, f"answered {answer!r}, expected {expected}")
        return expected

    def cancel_private_transaction(self, tx_hash_hex: str) -> bool:
        """``eth_cancelPrivateTransaction``; True when any relay cancelled it."""
        params = CancelPrivateTxParams(tx_hash=tx_hash_hex).wire()
        method = "eth_cancelPrivateTransaction"
        prepared = prepare(method, [params], self.signer)
        accepted, errors = self._fan_out(lambda e: self._call(e, method, [params], prepared))
        if not accepted:
            raise NoRelayAcceptedError(method, errors)
        return any(answer is True for answer in accepted.values())

    # ------------------------------------------------------------------ BuilderNet refunds

    def _refund_endpoint(self) -> RelayEndpoint:
        for endpoint in self.endpoints:
            if self._target[endpoint.url].refund_queries:
                return endpoint
        raise InvalidBundleError("urls", "no endpoint is configured to answer refund queries")

    @property
    def refund_source(self) -> str:
        """The name of the endpoint refund queries go to (how the ledger labels its rows)."""
        return self._target[self._refund_endpoint().url].label

    def _query(self, model: type[M], method: str, params: list[Any]) -> M:
        endpoint = self._refund_endpoint()
        return _parse(model, endpoint.url, method, self._call(endpoint, method, params))

    def fee_refunds_by_bundle(self, bundle_hash: str) -> FeeRefundsResult:
        """``buildernet_getFeeRefundsByBundle``: the refunds one bundle earned."""
        return self._query(FeeRefundsResult, "buildernet_getFeeRefundsByBundle", [bundle_hash])

    def fee_refunds_by_block(self, block_number: int) -> FeeRefundsResult:
        """``buildernet_getFeeRefundsByBlock``."""
        params = [{"block_number": hex(block_number)}]
        return self._query(FeeRefundsResult, "buildernet_getFeeRefundsByBlock", params)

    def fee_refunds_by_recipient(
        self, recipient: str, cursor: str | None = None
    ) -> FeeRefundsResult:
        """``buildernet_getFeeRefundsByRecipient`` (one page; follow ``cursor``)."""
        query: dict[str, Any] = {"recipient": recipient}
        if cursor is not None:
            query["cursor"] = cursor
        return self._query(FeeRefundsResult, "buildernet_getFeeRefundsByRecipient", [query])

    def fee_refund_totals(self, recipient: str) -> FeeRefundTotals:
        """``buildernet_getFeeRefundTotalsByRecipient``."""
        return self._query(FeeRefundTotals, "buildernet_getFeeRefundTotalsByRecipient", [recipient])

    def delayed_refunds(
        self,
        recipient: str,
        *,
        bundle_hash: str | None = None,
        block_range: tuple[int, int] | None = None,
        cursor: str | None = None,
    ) -> DelayedRefundsResult:
        """``buildernet_getDelayedRefunds`` (a bundle hash needs a block range, as documented)."""
        if bundle_hash is not None and block_range is None:
            raise InvalidBundleError("blockRangeFrom", "a bundle hash query needs a block range")
        query: dict[str, Any] = {"recipient": recipient}
        if block_range is not None:
            query["blockRangeFrom"], query["blockRangeTo"] = (hex(b) for b in block_range)
        if bundle_hash is not None:
            query["hash"] = bundle_hash
        if cursor is not None:
            query["cursor"] = cursor
        return self._query(DelayedRefundsResult, "buildernet_getDelayedRefunds", [query])
