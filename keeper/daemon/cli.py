"""``keeper run``: the daemon from the command line (``ape run keeper`` wraps the same function)."""

from __future__ import annotations

import json
import logging
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from types import FrameType
from typing import Any

import click

#: attributes every LogRecord has; anything else was passed as ``extra`` and is logged as a field
_STANDARD = set(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message and the record's extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        data.update({k: v for k, v in vars(record).items() if k not in _STANDARD})
        if record.exc_info:
            data["exc"] = self.formatException(record.exc_info)
        return json.dumps(data, default=str)


class TextFormatter(logging.Formatter):
    """``time LEVEL logger: message key=value ...``: the same fields as the JSON lines."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        line = super().format(record)
        fields = {k: v for k, v in vars(record).items() if k not in _STANDARD}
        if not fields:
            return line
        head, newline, rest = line.partition("\n")  # a traceback stays below the fields
        extra = " ".join(f"{k}={json.dumps(v, default=str)}" for k, v in fields.items())
        return f"{head} {extra}{newline}{rest}"


def setup_logging(fmt: str, level: str) -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter() if fmt == "json" else TextFormatter())
    root = logging.getLogger("keeper")
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    root.propagate = False


def run_keeper(
    config: Path | None = None,
    max_blocks: int | None = None,
    deployments_file: Path | None = None,
    services: Callable[[Any, Path | None], Sequence[Any]] | None = None,
    **overrides: Any,
) -> int:
    """Load settings, build the keeper, run it until SIGINT/SIGTERM; returns the exit code.

    ``services(parts, deployments_file)``: more services to run beside the keeper (the
    dashboard, from a layer above this one)."""
    from keeper.chain.connect import check_port
    from keeper.config import load_settings
    from keeper.daemon.daemon import KeeperDaemon, build

    settings = load_settings(config, **{k: v for k, v in overrides.items() if v is not None})
    # a port in use is one line naming the setting, before anything starts
    check_port(settings.intake.port, "intake.port (KEEPER_INTAKE__PORT)", settings.intake.host)
    check_port(settings.metrics.port, "metrics.port (KEEPER_METRICS__PORT)", settings.metrics.host)
    if services is not None and settings.dashboard.enabled:
        check_port(
            settings.dashboard.port,
            "dashboard.port (KEEPER_DASHBOARD__PORT)",
            settings.dashboard.host,
        )
    parts = build(settings, deployments_file)
    daemon = KeeperDaemon(parts, services(parts, deployments_file) if services else ())

    def graceful(signum: int, frame: FrameType | None) -> None:
        logging.getLogger("keeper.daemon").info("stopping", extra={"signal": signum})
        daemon.stop()

    previous = {s: signal.signal(s, graceful) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        return daemon.run(max_blocks=max_blocks)
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


@click.command()
@click.option("--config", "config", type=click.Path(path_type=Path), help="YAML or TOML file")
@click.option("--rpc-url", help="node JSON-RPC URL (else KEEPER_RPC_URL / config)")
@click.option("--signer", help="Ape account alias; omit for paper mode")
@click.option("--deployments", "deployments_file", type=click.Path(path_type=Path))
@click.option("--max-blocks", type=int, help="stop after this many cycles")
@click.option("--log-format", type=click.Choice(["json", "text"]), default="json")
@click.option("--log-level", default="info")
def run(
    config: Path | None,
    rpc_url: str | None,
    signer: str | None,
    deployments_file: Path | None,
    max_blocks: int | None,
    log_format: str,
    log_level: str,
) -> None:
    """Run the keeper daemon: intake, per-block settlement, private submission."""
    setup_logging(log_format, log_level)
    code = run_keeper(config, max_blocks, deployments_file, rpc_url=rpc_url, signer=signer)
    sys.exit(code)
