"""User controls and what the strategy remembers between evaluations, kept in a JSON file.

Pause/resume, a manual trigger, target changes, an emergency exit, a cost limit and a
frequency override (product document, features 24-25). The file is rewritten atomically.

Where it lives by default (:func:`default_state_path`): one file per strategy and owner,
``$KEEPER_STATE_DIR/<strategy name>-<owner>.json``; without ``KEEPER_STATE_DIR``,
``$XDG_STATE_HOME/keeper/`` or ``~/.local/state/keeper/``. The drawdown peak lives here, so a
strategy without this file has no memory of its peak.
"""

from __future__ import annotations

import os
import tempfile
from datetime import datetime
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from keeper.strategy.config import Fraction
from keeper.strategy.constants import Frequency
from keeper.strategy.exceptions import StrategyConfigError


def state_dir() -> Path:
    """The folder of the default state files (see the module docstring)."""
    if os.environ.get("KEEPER_STATE_DIR"):
        return Path(os.environ["KEEPER_STATE_DIR"]).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base).expanduser() / "keeper"


def default_state_path(strategy_name: str, owner: str) -> Path:
    """The state file of ``strategy_name`` for ``owner`` (lower-case address in the name)."""
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in strategy_name)
    return state_dir() / f"{safe}-{owner.lower()}.json"


class ControlState(BaseModel):
    model_config = ConfigDict(extra="forbid")

    paused: bool = False
    manual_requested: bool = False
    #: replaces the strategy's targets until cleared
    target_overrides: dict[str, Fraction] | None = None
    #: overrides the strategy's cost tolerance (fraction of the portfolio)
    cost_limit: Fraction | None = None
    frequency: Frequency | None = None
    #: token to exit into; set by an emergency exit request, cleared once proposed
    exit_to: str | None = None
    #: set once an emergency exit was proposed: the strategy holds (proposes nothing, never a
    #: buy-back) until the user resumes or sets new targets; the reason it says why
    exit_hold: str | None = None
    last_rebalance: datetime | None = None
    component_last: dict[str, datetime] = Field(default_factory=dict)
    drawdown_peak: float = 0.0
    risk_scale: float = 1.0
    #: a target change being phased in (index fund): from, to, and when it started
    phase_from: dict[str, float] | None = None
    phase_to: dict[str, float] | None = None
    phase_started: datetime | None = None

    @field_validator("target_overrides")
    @classmethod
    def _sum_to_one(cls, v: dict[str, float] | None) -> dict[str, float] | None:
        if v is not None and abs(sum(v.values()) - 1.0) > 1e-6:
            raise ValueError(f"weights sum to {sum(v.values()):g}, not 1")
        return v


class ControlStore:
    """Load and save a :class:`ControlState` at ``path`` (a missing file is the default state)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> ControlState:
        if not self.path.exists():
            return ControlState()
        try:
            return ControlState.model_validate_json(self.path.read_text())
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise StrategyConfigError(key, first["msg"], str(self.path)) from None

    def save(self, state: ControlState) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".controls-")
        with os.fdopen(fd, "w") as fh:
            fh.write(state.model_dump_json(indent=2))
        os.replace(tmp, self.path)

    def update(self, **changes: object) -> ControlState:
        """Apply ``changes`` (validated) and save."""
        state = self.load()
        try:
            new = ControlState.model_validate({**state.model_dump(), **changes})
        except ValidationError as err:
            first = err.errors()[0]
            key = ".".join(str(p) for p in first["loc"]) or "<root>"
            raise StrategyConfigError(key, first["msg"].removeprefix("Value error, ")) from None
        self.save(new)
        return new

    # -- the user's controls ---------------------------------------------------------------
    def pause(self) -> ControlState:
        return self.update(paused=True)

    def resume(self) -> ControlState:
        return self.update(paused=False, exit_hold=None)

    def trigger(self) -> ControlState:
        return self.update(manual_requested=True)

    def set_targets(self, targets: dict[str, float] | None) -> ControlState:
        """New targets; they also end the hold after an emergency exit (not a user pause)."""
        return self.update(target_overrides=targets, exit_hold=None)

    def set_cost_limit(self, fraction: float | str | None) -> ControlState:
        return self.update(cost_limit=fraction)

    def set_frequency(self, frequency: str | None) -> ControlState:
        return self.update(frequency=frequency)

    def emergency_exit(self, to: str) -> ControlState:
        return self.update(exit_to=to)
