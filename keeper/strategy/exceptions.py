"""Errors raised by the strategy layer (all :class:`~keeper.exceptions.KeeperError`)."""

from __future__ import annotations

from keeper.exceptions import ConfigError, KeeperError


class StrategyError(KeeperError):
    """Root of the strategy layer's deliberate errors."""


class StrategyConfigError(ConfigError, StrategyError):
    """A strategy file is unreadable or a key in it is invalid.

    ``key`` is the dotted path of the offending key (``targets.WETH``, ``band``) and ``source``
    the file it came from, when known.
    """

    def __init__(self, key: str, problem: str, source: str | None = None) -> None:
        self.source = source
        super().__init__(key, problem)
        if source:
            self.args = (f"{source}: config key '{key}': {problem}",)

    def __str__(self) -> str:
        return str(self.args[0])


class ModelError(StrategyError):
    """An allocation model got inputs it cannot work with."""

    def __init__(self, model: str, problem: str) -> None:
        self.model = model
        self.problem = problem
        super().__init__(f"model '{model}': {problem}")


class PriceError(StrategyError):
    """A token could not be valued safely (missing source, sources disagree, stale data)."""

    def __init__(self, token: str, problem: str) -> None:
        self.token = token
        self.problem = problem
        super().__init__(f"price of {token}: {problem}")


class YieldSourceError(StrategyError):
    """A yield source could not be read."""

    def __init__(self, source: str, problem: str) -> None:
        self.source = source
        self.problem = problem
        super().__init__(f"yield source '{source}': {problem}")


class ProposalError(StrategyError):
    """A decision cannot be turned into a signable proposal."""

    def __init__(self, owner: str, problem: str) -> None:
        self.owner = owner
        self.problem = problem
        super().__init__(f"proposal for {owner}: {problem}")


class AlertDeliveryError(StrategyError):
    """An alert sink failed to deliver."""

    def __init__(self, sink: str, problem: str) -> None:
        self.sink = sink
        self.problem = problem
        super().__init__(f"alert sink '{sink}': {problem}")
