"""The local stack's processes: the keeper (``keeper run``) and the relay (``keeper relay
serve``) as child processes, started and stopped the way an operator would."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

KEEPER_SIGNER = "TEST::1"


class Stack(Protocol):
    """What a :class:`KeeperProcess` reads of the stack it runs against: a
    :class:`~keeper.devstack.localstack.LocalStack` (which starts these processes, so this
    module does not import it)."""

    @property
    def relay(self) -> Any: ...  # anything with a ``url``: LocalRelay or RelayProcess

    @property
    def deployments_file(self) -> Path: ...


class RelayProcess:
    """``keeper relay serve`` as a child process (context manager): the relay in a process of
    its own, as a keeper meets a real relay (no interpreter shared with the caller).

    ``mine_block()`` builds the next block through ``localrelay_mineBlock``; the in-process
    relay's ``history`` is not available.
    """

    def __init__(self, upstream_url: str, block_time: float | None = None) -> None:
        from keeper.chain.anvil import free_port

        self.upstream_url = upstream_url
        self.block_time = block_time
        self.port = free_port()
        self.proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> RelayProcess:
        import subprocess
        import sys

        from keeper.chain.anvil import rpc_ready
        from keeper.daemon.daemon import wait_for
        from keeper.exceptions import ProcessError

        command = [sys.executable, "-m", "keeper.cli", "relay", "serve",
                   "--upstream", self.upstream_url, "--port", str(self.port)]  # fmt: skip
        if self.block_time:
            command += ["--block-time", str(self.block_time)]
        self.proc = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        if not wait_for(lambda: self.proc.poll() is not None or rpc_ready(self.url), 60):
            self.__exit__()
            raise ProcessError("relay", "did not answer within 60 s")
        if self.proc.poll() is not None:
            raise ProcessError("relay", f"exited: {self.proc.stderr.read()[-2000:]}")
        return self

    def mine_block(self, include_bundles: bool = True) -> dict[str, Any]:
        import requests

        body = {"jsonrpc": "2.0", "id": 1, "method": "localrelay_mineBlock",
                "params": [{"includeBundles": include_bundles}]}  # fmt: skip
        answer = requests.post(self.url, json=body, timeout=60).json()
        if "error" in answer:
            raise RuntimeError(f"localrelay_mineBlock: {answer['error']}")
        return dict(answer["result"])

    def __exit__(self, *exc: object) -> None:
        import signal
        import subprocess

        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)  # the relay restores anvil's automine
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


class KeeperProcess:
    """``keeper run`` as a child process against a :class:`LocalStack` (context manager).

    Settings go through ``KEEPER_*`` variables, as an operator would set them; the keeper reads
    the chain through the local relay unless ``rpc_url`` says otherwise. ``stop()`` sends
    SIGTERM (graceful); ``kill()`` sends SIGKILL (a crash). Logs go to ``<data_dir>/keeper.log``.
    """

    def __init__(
        self,
        stack: Stack,
        data_dir: Path,
        signer: str | None = KEEPER_SIGNER,
        rpc_url: str | None = None,
        intake_port: int | None = None,
        **env: str,
    ) -> None:
        from keeper.chain.anvil import free_port

        self.stack = stack
        # Reads go through the relay (it forwards them to anvil under its builder's lock, so
        # the keeper never sees a trial block), as they would go to a node beside the builder.
        self.rpc_url = rpc_url or stack.relay.url
        self.data_dir = data_dir
        self.intake_port = intake_port or free_port()
        self.metrics_port = free_port()
        self.dashboard_port = free_port()
        self.env = {
            "KEEPER_DATA_DIR": str(data_dir),
            "KEEPER_KEEPER_ID": "local-keeper",
            "KEEPER_RELAY__URLS": f'["{stack.relay.url}"]',
            "KEEPER_INTAKE__PORT": str(self.intake_port),
            "KEEPER_METRICS__PORT": str(self.metrics_port),
            "KEEPER_DASHBOARD__PORT": str(self.dashboard_port),
            "KEEPER_POLL_INTERVAL_S": "0.1",
            # local blocks come every second or so, not every 12 s: keep a bundle alive longer
            "KEEPER_RELAY__TARGET_BLOCKS": "6",
            **({"KEEPER_SIGNER": signer} if signer else {}),
            **env,
        }
        self.proc: Any = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.intake_port}"

    def start(self, timeout: float = 60.0) -> KeeperProcess:
        import os
        import subprocess
        import sys

        import requests

        from keeper.daemon.daemon import wait_for
        from keeper.exceptions import ProcessError

        self.data_dir.mkdir(parents=True, exist_ok=True)
        env = {k: v for k, v in os.environ.items() if not k.startswith("KEEPER_")}
        env.update(self.env)
        command = [sys.executable, "-m", "keeper.cli", "run", "--rpc-url", self.rpc_url,
                   "--deployments", str(self.stack.deployments_file)]  # fmt: skip
        log = (self.data_dir / "keeper.log").open("ab")
        self.proc = subprocess.Popen(command, env=env, stdout=log, stderr=log)
        log.close()

        def healthy() -> bool:
            if self.proc.poll() is not None:
                return True
            try:
                return requests.get(f"{self.url}/health", timeout=1).ok
            except requests.RequestException:
                return False

        if not wait_for(healthy, timeout) or self.proc.poll() is not None:
            tail = (self.data_dir / "keeper.log").read_text()[-2000:]
            self.kill()
            raise ProcessError("keeper", f"did not become healthy:\n{tail}")
        return self

    def cycles(self) -> float:
        """Blocks this keeper has finished a cycle for (its ``keeper_blocks_processed`` counter)."""
        import requests

        page = requests.get(f"http://127.0.0.1:{self.metrics_port}/metrics", timeout=5).text
        for line in page.splitlines():
            if line.startswith("keeper_blocks_processed_total "):
                return float(line.split()[-1])
        return 0.0

    def wait_cycles(self, at_least: float = 1, timeout: float = 60.0) -> None:
        """Wait until the keeper has run ``at_least`` cycles. With no block time, after its
        start-up cycle for the head it found the keeper's next cycle is the next block a test
        builds: every intent posted before that block is claimed in the same cycle (posted
        earlier, one could be claimed alone by the start-up cycle while the next is in flight)."""
        from keeper.daemon.daemon import wait_for
        from keeper.exceptions import ProcessError

        if not wait_for(lambda: self.cycles() >= at_least, timeout, interval=0.1):
            raise ProcessError("keeper", f"ran {self.cycles():g} cycles in {timeout:g} s")

    def stop(self, timeout: float = 20.0) -> int:
        import signal
        import subprocess

        if self.proc is None:
            return 0
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        code = int(self.proc.returncode)
        self.proc = None
        return code

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()
        self.proc = None

    def __enter__(self) -> KeeperProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
