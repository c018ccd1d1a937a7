"""Errors raised by the routing engine. Each names the offending field or value."""

from __future__ import annotations

from keeper.exceptions import KeeperError


class RoutingError(KeeperError):
    """Root of every routing error."""


class SnapshotError(RoutingError):
    """A pool snapshot is malformed or inconsistent."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"snapshot field '{field}': {problem}")


class UnknownTokenError(RoutingError):
    """A token is not in the snapshot."""

    def __init__(self, field: str, token: str) -> None:
        self.field = field
        self.token = token
        super().__init__(f"{field}: unknown token '{token}' (not in the pool snapshot)")


class AmountError(RoutingError):
    """An amount is zero, negative, or larger than the pools can take."""

    def __init__(self, field: str, amount: int | str, problem: str) -> None:
        self.field = field
        self.amount = amount
        self.problem = problem
        super().__init__(f"{field}={amount}: {problem}")


class NoRouteError(RoutingError):
    """No pool (or path of pools) connects the two tokens."""

    def __init__(self, sell_token: str, buy_token: str, problem: str) -> None:
        self.sell_token = sell_token
        self.buy_token = buy_token
        self.problem = problem
        super().__init__(f"no route from {sell_token} to {buy_token}: {problem}")


class QuoteError(RoutingError):
    """An exact quote cannot be computed (e.g. the swap would leave the snapshot's tick window)."""

    def __init__(self, pool: str, problem: str) -> None:
        self.pool = pool
        self.problem = problem
        super().__init__(f"pool {pool}: {problem}")


class NettingError(RoutingError):
    """A batch of orders cannot be netted as given."""

    def __init__(self, field: str, problem: str) -> None:
        self.field = field
        self.problem = problem
        super().__init__(f"netting input '{field}': {problem}")


class CapacityError(QuoteError):
    """A swap would exhaust the pool's known liquidity before using all its input."""

    def __init__(self, pool: str, amount_in: int, consumable: int) -> None:
        self.amount_in = amount_in
        self.consumable = consumable
        super().__init__(pool, f"only {consumable} of {amount_in} can be swapped")
