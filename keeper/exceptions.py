"""The keeper's exception hierarchy.

Every error the keeper raises on purpose derives from :class:`KeeperError`. Subclasses build
their own message from typed arguments and keep those arguments as attributes, so callers can
react to them and the CLI can print the message without a traceback.
"""

from __future__ import annotations


class KeeperError(Exception):
    """Root of every deliberate keeper error."""


class ConfigError(KeeperError):
    """A configuration value is missing or invalid."""

    def __init__(self, key: str, problem: str) -> None:
        self.key = key
        self.problem = problem
        super().__init__(f"config key '{key}': {problem}")


class ProcessError(KeeperError):
    """A helper process (anvil, relay) could not be started or stopped."""

    def __init__(self, name: str, problem: str) -> None:
        self.name = name
        self.problem = problem
        super().__init__(f"{name}: {problem}")
