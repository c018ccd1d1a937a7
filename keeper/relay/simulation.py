"""``eth_callBundle`` on the local relay: simulate on top of the head, leave no trace."""

from __future__ import annotations

from keeper.relay.builder import BlockBuilder
from keeper.relay.bundle import bundle_hash
from keeper.relay.exceptions import InvalidBundleError, UpstreamError
from keeper.relay.execution import decode_all, value_sent_to
from keeper.relay.models import CallBundleParams, CallBundleResult, CallBundleTxResult

_HEAD_TAGS = {"latest", "pending"}


def _check_state_block(requested: str | int, head: int) -> None:
    if isinstance(requested, str) and requested in _HEAD_TAGS:
        return
    try:
        number = int(requested, 16) if isinstance(requested, str) else int(requested)
    except ValueError as err:
        raise InvalidBundleError(
            "stateBlockNumber", f"not a block number or tag: {requested}"
        ) from err
    if number != head:
        raise InvalidBundleError(
            "stateBlockNumber", f"the local relay simulates on its head ({head}) only, not {number}"
        )


def simulate_bundle(builder: BlockBuilder, params: CallBundleParams) -> CallBundleResult:
    """Run ``params.txs`` in order in a trial block on top of the head and report each one.

    A transaction anvil refuses outright (nonce too low, insufficient funds) makes the whole call
    fail, as on the real relay; a revert is reported in that transaction's result.
    """
    txs = decode_all(params.txs)
    with builder.lock:
        head = builder.up.head()
        head_number = int(head["number"], 16)
        _check_state_block(params.state_block_number, head_number)
        stamp = params.timestamp or builder.next_timestamp(head)
        public = builder.ops.take_public_pool()
        snapshot = builder.ops.snapshot()
        try:
            execution = builder.ops.execute(txs, stamp)
            coinbase, number = execution.coinbase, execution.number
            paid_total = builder.ops.balance(coinbase, number) - builder.ops.balance(
                coinbase, number - 1
            )
            traces = [
                builder.ops.call_trace(o.tx.hash) if o.included else {} for o in execution.outcomes
            ]
        finally:
            builder.ops.revert(snapshot)
            builder.ops.put_in_pool(public)
    results = []
    for outcome, trace in zip(execution.outcomes, traces, strict=True):
        if not outcome.included:
            raise UpstreamError(
                "eth_callBundle", f"err: {outcome.problem}; txhash {outcome.tx.hash}"
            )
        tip = outcome.effective_gas_price - execution.base_fee
        gas_fees = outcome.gas_used * tip
        sent = value_sent_to(trace, coinbase)
        output = str(trace.get("output") or "0x")
        reverted = outcome.status != 1
        results.append(
            CallBundleTxResult(
                tx_hash=outcome.tx.hash,
                gas_used=outcome.gas_used,
                gas_price=(gas_fees + sent) // max(outcome.gas_used, 1),
                gas_fees=gas_fees,
                coinbase_diff=gas_fees + sent,
                eth_sent_to_coinbase=sent,
                from_address=outcome.tx.sender,
                to_address=outcome.tx.to,
                value=None if reverted else output,
                error=(trace.get("error") or "execution reverted") if reverted else None,
                revert=output if reverted else None,
            )
        )
    total_gas = sum(r.gas_used for r in results)
    gas_fees_total = sum(r.gas_fees for r in results)
    return CallBundleResult(
        bundle_gas_price=paid_total // max(total_gas, 1),
        bundle_hash=bundle_hash(tx.hash for tx in txs),
        coinbase_diff=paid_total,
        eth_sent_to_coinbase=paid_total - gas_fees_total,
        gas_fees=gas_fees_total,
        results=results,
        state_block_number=head_number,
        total_gas_used=total_gas,
    )
