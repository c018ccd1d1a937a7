"""``keeper relay``: run the local relay in front of an anvil."""

from __future__ import annotations

import threading

import click


@click.group()
def relay() -> None:
    """Flashbots relay tools (see docs/RELAY.md)."""


@relay.command()
@click.option("--upstream", required=True, help="anvil JSON-RPC URL (started with --order fifo)")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8550, show_default=True, type=int)
@click.option(
    "--block-time",
    type=float,
    default=None,
    help="build a block every S seconds; without it, blocks are built on localrelay_mineBlock",
)
@click.option(
    "--no-reads",
    is_flag=True,
    help="answer chain reads 'method not found', as relay.flashbots.net does (default: forward "
    "them to UPSTREAM under the builder's lock, as a node beside the builder would)",
)
def serve(upstream: str, host: str, port: int, block_time: float | None, no_reads: bool) -> None:
    """Serve the local relay: Flashbots JSON-RPC on HOST:PORT, block builder for UPSTREAM."""
    from keeper.relay.server import LocalRelay

    local = LocalRelay(
        upstream, host=host, port=port, block_time=block_time, forward_reads=not no_reads
    ).start()
    mode = f"a block every {block_time}s" if block_time else "blocks on localrelay_mineBlock"
    click.echo(f"local relay on {local.url} -> {upstream} ({mode}); Ctrl-C stops it")
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        local.stop()
