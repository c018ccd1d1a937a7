"""AnvilProcess never leaves an anvil behind: normal exit, exception, SIGTERM of its owner."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import pytest

from keeper.chain.anvil import AnvilProcess, rpc_ready
from keeper.exceptions import ProcessError


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie still answers kill(0); check its state.
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


def test_anvil_answers_rpc_inside_the_context_and_is_gone_after():
    with AnvilProcess(chain_id=4242) as node:
        pid = node.pid
        assert pid is not None and rpc_ready(node.url)
    assert not alive(pid)
    assert not rpc_ready(node.url)


def test_anvil_is_stopped_when_the_body_raises():
    with pytest.raises(RuntimeError), AnvilProcess() as node:
        pid = node.pid
        raise RuntimeError("boom")
    assert pid is not None and not alive(pid)


def test_a_bad_argument_is_reported_not_hung():
    with pytest.raises(ProcessError, match="anvil"):
        AnvilProcess(args=["--no-such-flag"], startup_timeout=10).start()


def test_sigterm_to_the_owner_stops_its_anvil():
    program = (
        "import signal, sys, time\n"
        "from keeper.chain.anvil import AnvilProcess\n"
        "signal.signal(signal.SIGTERM, lambda s, f: sys.exit(143))\n"
        "with AnvilProcess() as node:\n"
        "    print(node.pid, flush=True)\n"
        "    time.sleep(60)\n"
    )
    owner = subprocess.Popen([sys.executable, "-c", program], stdout=subprocess.PIPE, text=True)
    assert owner.stdout is not None
    anvil_pid = int(owner.stdout.readline())
    assert alive(anvil_pid)

    owner.send_signal(signal.SIGTERM)
    owner.wait(timeout=15)

    deadline = time.monotonic() + 5
    while alive(anvil_pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not alive(anvil_pid)
