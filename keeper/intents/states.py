"""The life of an intent in the keeper's store.

``accepted -> batched -> simulated -> submitted -> settled``, with ``failed(reason)``,
``expired`` and ``cancelled`` as the other terminal states. An intent whose bundle was not
included, or that was dropped from a batch for a reason that may pass (balance, allowance),
goes back to ``accepted`` to be retried until its deadline.
"""

from __future__ import annotations

from enum import StrEnum

from keeper.exceptions import KeeperError


class IntentState(StrEnum):
    ACCEPTED = "accepted"
    BATCHED = "batched"
    SIMULATED = "simulated"
    SUBMITTED = "submitted"
    SETTLED = "settled"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"

    @property
    def terminal(self) -> bool:
        return self in TERMINAL


TERMINAL = frozenset(
    {IntentState.SETTLED, IntentState.FAILED, IntentState.EXPIRED, IntentState.CANCELLED}
)

#: the states a keeper holds a claim on (leased; recovered when the lease runs out)
CLAIMED = frozenset({IntentState.BATCHED, IntentState.SIMULATED, IntentState.SUBMITTED})

_ENDINGS = {IntentState.FAILED, IntentState.EXPIRED, IntentState.CANCELLED}

ALLOWED: dict[IntentState, frozenset[IntentState]] = {
    IntentState.ACCEPTED: frozenset({IntentState.BATCHED, *_ENDINGS}),
    IntentState.BATCHED: frozenset({IntentState.SIMULATED, IntentState.ACCEPTED, *_ENDINGS}),
    IntentState.SIMULATED: frozenset({IntentState.SUBMITTED, IntentState.ACCEPTED, *_ENDINGS}),
    # A submitted intent may also settle through a later bundle of the same keeper after a
    # restart, hence SETTLED is reachable only from SUBMITTED.
    IntentState.SUBMITTED: frozenset({IntentState.SETTLED, IntentState.ACCEPTED, *_ENDINGS}),
}


class TransitionError(KeeperError):
    """A state change that the life cycle does not allow."""

    def __init__(self, intent_id: str, source: IntentState, target: IntentState) -> None:
        self.intent_id = intent_id
        self.source = source
        self.target = target
        super().__init__(f"intent {intent_id}: cannot go from {source} to {target}")


def check_transition(intent_id: str, source: IntentState, target: IntentState) -> None:
    if target not in ALLOWED.get(source, frozenset()):
        raise TransitionError(intent_id, source, target)
