"""User controls (a JSON state file) and alert delivery to a real local webhook."""

from __future__ import annotations

import json
import logging
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from keeper.strategy.constants import Frequency
from keeper.strategy.controls import ControlStore
from keeper.strategy.exceptions import StrategyConfigError
from keeper.strategy.live.alerts import (
    Alert,
    AlertDispatcher,
    AlertKind,
    LogSink,
    WebhookSink,
    alert_kind,
)
from keeper.strategy.triggers.base import Signal, SignalKind


def test_controls_round_trip_through_the_state_file(tmp_path):
    store = ControlStore(tmp_path / "alice.json")
    assert not store.load().paused
    store.pause()
    store.trigger()
    store.set_targets({"WETH": 0.6, "USDC": "40%"})
    store.set_cost_limit("0.2%")
    store.set_frequency("weekly")
    store.emergency_exit("USDC")
    state = ControlStore(tmp_path / "alice.json").load()
    assert state.paused and state.manual_requested and state.exit_to == "USDC"
    assert state.target_overrides == {"WETH": 0.6, "USDC": 0.4}
    assert state.cost_limit == pytest.approx(0.002) and state.frequency is Frequency.WEEKLY
    assert not store.resume().paused


def test_bad_control_values_name_the_key(tmp_path):
    store = ControlStore(tmp_path / "s.json")
    with pytest.raises(StrategyConfigError, match=r"'target_overrides': weights sum to 0\.9"):
        store.set_targets({"WETH": 0.5, "USDC": 0.4})
    with pytest.raises(StrategyConfigError, match="'frequency'"):
        store.set_frequency("hourly")
    (tmp_path / "broken.json").write_text('{"paused": "maybe"}')
    with pytest.raises(StrategyConfigError, match="'paused'"):
        ControlStore(tmp_path / "broken.json").load()


def test_alert_kind_is_the_most_urgent_fired_signal():
    drift = Signal("threshold", SignalKind.DRIFT, True, "x")
    risk = Signal("drawdown", SignalKind.RISK, True, "y")
    quiet_risk = Signal("drawdown", SignalKind.RISK, False, "z")
    assert alert_kind([drift, risk]) is AlertKind.RISK
    assert alert_kind([drift, quiet_risk]) is AlertKind.SCHEDULED
    assert alert_kind([]) is AlertKind.NOTICE


class _Hook(BaseHTTPRequestHandler):
    received: list[dict] = []
    status = 200

    def do_POST(self):
        body = self.rfile.read(int(self.headers["Content-Length"]))
        _Hook.received.append(json.loads(body))
        self.send_response(_Hook.status)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture
def webhook():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Hook)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    _Hook.received, _Hook.status = [], 200
    yield f"http://127.0.0.1:{server.server_address[1]}/alerts"
    server.shutdown()
    server.server_close()


def test_alerts_reach_the_webhook_and_the_log(webhook, caplog):
    dispatcher = AlertDispatcher([LogSink(), WebhookSink(webhook)])
    alert = Alert(kind=AlertKind.RISK, owner="alice", message="drawdown 22% past 15%")
    with caplog.at_level(logging.INFO, logger="keeper.strategy.alerts"):
        report = dispatcher.send(alert)
    assert report.ok and report.delivered == ["log", f"webhook:{webhook}"]
    assert _Hook.received[0]["kind"] == "risk" and _Hook.received[0]["owner"] == "alice"
    assert "[risk] alice: drawdown 22% past 15%" in caplog.text


def test_a_failing_webhook_is_reported_and_does_not_stop_the_log(webhook):
    _Hook.status = 503
    dispatcher = AlertDispatcher([WebhookSink(webhook), LogSink()])
    report = dispatcher.send(Alert(kind=AlertKind.COMPLETION, owner="bob", message="settled"))
    assert report.failed == {f"webhook:{webhook}": "HTTP 503"}
    assert report.delivered == ["log"]
    down = AlertDispatcher([WebhookSink("http://127.0.0.1:9/none", timeout=1.0)])
    assert "ConnectionError" in next(
        iter(down.send(Alert(kind="notice", owner="x", message="m")).failed.values())
    )
