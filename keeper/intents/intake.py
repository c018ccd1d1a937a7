"""How signed intents reach the keeper: a loopback HTTP endpoint and a drop folder.

Both go through :meth:`IntakeService.submit`: parse, policy checks, the signature (the
executor's own rule, ERC-1271 wallets included; v in {0, 1} is stored as 27/28), on-chain
checks, then the store (idempotent: the same signed intent twice gets the same id). A
rejection names the field and never stops the daemon.

HTTP (JSON):
    ``POST /intents`` body ``{"intent": {...}, "signature": "0x..", "chainId": 1}`` ->
    201 ``{"id", "state"}`` (200 if already known) or 400 ``{"error": {"field", "problem",
    "code"}}``; ``GET /intents/<id>`` -> the record with its transitions;
    ``GET /intents?owner=&state=`` -> a list; ``GET /health``.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from collections.abc import Callable
from dataclasses import asdict
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import parse_qs, urlparse

from keeper.exceptions import KeeperError
from keeper.intents.records import IntentRecord
from keeper.intents.states import IntentState
from keeper.intents.store import IntentStore, NonceInUseError, UnknownIntentError
from keeper.intents.validation import (
    ChainState,
    IntentPolicy,
    IntentRejectedError,
    check_on_chain,
    check_signature,
    parse_submission,
)
from keeper.rpc import retrying, transient_errors

log = logging.getLogger("keeper.intake")
T = TypeVar("T")

MAX_BODY_BYTES = 64 * 1024
#: seconds a client is told to wait (``Retry-After``) when the node could not be read
RETRY_AFTER_S = 2
#: a drop file whose check could not read the node waits this long (doubling, up to the
#: maximum) before it is tried again
DROP_RETRY_S = 1.0
DROP_RETRY_MAX_S = 30.0


class IntakeUnavailableError(KeeperError):
    """The intent could not be checked now (the node did not answer): not a verdict on the
    intent; the client should retry after ``retry_after_s`` seconds."""

    def __init__(self, problem: str, retry_after_s: int = RETRY_AFTER_S) -> None:
        self.problem = problem
        self.retry_after_s = retry_after_s
        super().__init__(f"keeper temporarily unavailable ({problem}); retry in {retry_after_s} s")


def record_json(record: IntentRecord, store: IntentStore | None = None) -> dict[str, Any]:
    """A JSON-safe view of a stored intent (with its transitions when ``store`` is given)."""
    data = asdict(record)
    data["state"] = record.state.value
    data["nonce"] = str(record.nonce)
    if store is not None:
        data["transitions"] = [
            {**asdict(t), "source": t.source.value if t.source else None, "target": t.target.value}
            for t in store.history(record.id)
        ]
        data["refund"] = refunds_json([record.id], store).get(record.id)
    return data


def refunds_json(ids: list[str], store: IntentStore) -> dict[str, dict[str, Any]]:
    """Builder refunds per intent: wei its settlement earned it, wei taken off its fee."""
    from keeper.intents.refunds import RefundBook

    return {
        i: {
            "earnedWei": str(r.earned_wei),
            "creditedWei": str(r.credited_wei),
            "creditedFeeUnits": str(r.credited_fee_units),
            "bundles": list(r.bundles),
        }
        for i, r in RefundBook(store.engine).per_intent(ids).items()
    }


class IntakeService:
    """Validates and stores submitted intents.

    Args:
        store: the intent store.
        policy: domain and limits.
        chain: on-chain reads; ``None`` skips the on-chain layer (tests of the pure layers).
        chain_time: the latest block's timestamp (deadlines are chain time).
        block_number: the latest block number (recorded with the transition).
        on_outcome: called with "accepted", "known", "unavailable" or an error code (metrics).
        clock: monotonic seconds (when a drop file that could not be checked is due again).
    """

    def __init__(
        self,
        store: IntentStore,
        policy: IntentPolicy,
        chain: ChainState | None,
        chain_time: Callable[[], int],
        block_number: Callable[[], int | None] = lambda: None,
        on_outcome: Callable[[str], None] = lambda outcome: None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.store = store
        self.policy = policy
        self.chain = chain
        self.chain_time = chain_time
        self.block_number = block_number
        self.on_outcome = on_outcome
        self.clock = clock
        #: drop files waiting for the node: name -> (failures so far, due at)
        self._pending: dict[str, tuple[int, float]] = {}

    def submit(self, raw: str | bytes | dict[str, Any]) -> tuple[IntentRecord, bool]:
        """Accept one signed intent; returns ``(record, created)``.

        Raises:
            IntentRejectedError: naming the offending field.
            IntakeUnavailableError: the node could not be read; nothing was decided.
        """
        try:
            record, created = self._submit(raw)
        except IntentRejectedError as err:
            self.on_outcome(err.code)
            raise
        except IntakeUnavailableError:
            self.on_outcome("unavailable")
            raise
        self.on_outcome("accepted" if created else "known")
        return record, created

    def _submit(self, raw: str | bytes | dict[str, Any]) -> tuple[IntentRecord, bool]:
        signed = parse_submission(raw)
        now = self._read("the chain time", self.chain_time)
        digest = self.policy.check(signed, now)
        # what is stored is what settles; a smart wallet's signature is asked of the chain
        signed = self._read(
            "the owner's signature check", lambda: check_signature(signed, digest, self.chain)
        )
        intent_id = "0x" + digest.hex()
        try:  # a known intent is answered from the store, whatever the chain says now
            return self.store.get(intent_id), False
        except UnknownIntentError:
            pass
        chain = self.chain
        if chain is not None:
            self._read(
                "the owner's nonce and allowances",
                lambda: check_on_chain(signed.intent, chain, now),
            )
        block = self._read("the block number", self.block_number)
        intent = signed.intent
        try:
            return self.store.add(
                intent_id,
                chain_id=self.policy.chain_id,
                executor=intent.executor,
                owner=intent.owner,
                nonce=intent.nonce,
                valid_after=intent.valid_after,
                deadline=intent.deadline,
                payload=signed.to_wire(),
                block=block,
            )
        except NonceInUseError as err:
            raise IntentRejectedError(
                "intent.nonce",
                f"{err.nonce} is used by pending intent {err.other_id}",
                "nonce_used",
            ) from None

    def _read(self, what: str, read: Callable[[], T]) -> T:
        """A chain read of the checks, retried as the daemon's reads are (:func:`retrying`); an
        answer still broken is :class:`IntakeUnavailableError`."""
        try:
            return retrying(read, transient_errors())
        except IntentRejectedError:
            raise
        except transient_errors() as err:
            raise IntakeUnavailableError(
                f"reading {what} failed: {type(err).__name__}: {str(err)[:160]}"
            ) from None

    def scan(self, drop_dir: Path) -> list[tuple[Path, str]]:
        """Submit every ``*.json`` in ``drop_dir``; move each to ``done/`` or ``rejected/``.

        A rejected file gets a ``<name>.error.json`` beside it; so does a file that made the
        checks fail in a way nobody foresaw (code ``internal``: set aside, never retried at every
        start). A file that could not be checked because the node did not answer stays where it
        is and is tried again after a backoff (outcome ``unavailable: ...``). Returns (file,
        outcome) pairs.
        """
        outcomes: list[tuple[Path, str]] = []
        now = self.clock()
        for path in sorted(drop_dir.glob("*.json")):
            failures, due = self._pending.get(path.name, (0, now))
            if due > now:
                continue
            try:
                record, _ = self.submit(path.read_bytes())
            except IntakeUnavailableError as err:
                delay = min(DROP_RETRY_S * 2**failures, DROP_RETRY_MAX_S)
                self._pending[path.name] = (failures + 1, now + delay)
                outcomes.append((path, f"unavailable: {err}"))
                continue
            except IntentRejectedError as err:
                self._set_aside(drop_dir, path, err.as_json())
                outcomes.append((path, f"rejected: {err}"))
                continue
            except Exception as err:  # a bug, not the file's fault: set aside, keep running
                log.exception("intake crashed on drop file %s", path.name)
                problem = f"intake failed on this file ({type(err).__name__}); see the keeper log"
                self._set_aside(
                    drop_dir, path, {"field": "<file>", "problem": problem, "code": "internal"}
                )
                outcomes.append((path, f"rejected: <file>: {problem}"))
                continue
            self._pending.pop(path.name, None)
            target = drop_dir / "done"
            target.mkdir(exist_ok=True)
            shutil.move(path, target / path.name)
            outcomes.append((path, record.id))
        return outcomes

    def _set_aside(self, drop_dir: Path, path: Path, error: dict[str, str]) -> None:
        self._pending.pop(path.name, None)
        target = drop_dir / "rejected"
        target.mkdir(exist_ok=True)
        (target / f"{path.stem}.error.json").write_text(json.dumps(error))
        shutil.move(path, target / path.name)


class _Handler(BaseHTTPRequestHandler):
    server: IntakeServer

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("%s %s", self.address_string(), format % args)

    def _reply(
        self, status: HTTPStatus, body: dict[str, Any], retry_after: int | None = None
    ) -> None:
        payload = json.dumps(body).encode()
        self.send_response(status)
        if retry_after is not None:
            self.send_header("Retry-After", str(retry_after))
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def _error(
        self,
        status: HTTPStatus,
        field: str,
        problem: str,
        code: str,
        retry_after: int | None = None,
    ) -> None:
        body = {"error": {"field": field, "problem": problem, "code": code}}
        self._reply(status, body, retry_after)

    def do_POST(self) -> None:
        if urlparse(self.path).path.rstrip("/") != "/intents":
            return self._error(HTTPStatus.NOT_FOUND, "<path>", f"no route {self.path}", "route")
        try:
            length = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            length = -1
        if not 0 < length <= MAX_BODY_BYTES:
            return self._error(
                HTTPStatus.REQUEST_ENTITY_TOO_LARGE if length > 0 else HTTPStatus.BAD_REQUEST,
                "<body>",
                f"Content-Length must be 1..{MAX_BODY_BYTES} bytes",
                "malformed",
            )
        body = self.rfile.read(length)
        try:
            record, created = self.server.service.submit(body)
        except IntentRejectedError as err:
            return self._reply(HTTPStatus.BAD_REQUEST, {"error": err.as_json()})
        except IntakeUnavailableError as err:  # not a verdict: the client retries
            log.warning("intake unavailable: %s", err.problem)
            return self._error(
                HTTPStatus.SERVICE_UNAVAILABLE, "<keeper>", str(err), "unavailable",
                retry_after=err.retry_after_s,
            )  # fmt: skip
        except KeeperError as err:  # the store or the chain refused: the client may retry
            log.warning("intake failed: %s", err)
            return self._error(
                HTTPStatus.SERVICE_UNAVAILABLE, "<keeper>", str(err), "unavailable",
                retry_after=RETRY_AFTER_S,
            )  # fmt: skip
        except Exception as err:  # one bad request must not stop the keeper
            log.exception("intake crashed on a request")
            return self._error(
                HTTPStatus.INTERNAL_SERVER_ERROR, "<keeper>", type(err).__name__, "internal"
            )
        status = HTTPStatus.CREATED if created else HTTPStatus.OK
        self._reply(status, {"id": record.id, "state": record.state.value})

    def do_GET(self) -> None:
        url = urlparse(self.path)
        store = self.server.service.store
        parts = [p for p in url.path.split("/") if p]
        try:
            if parts == ["health"]:
                return self._reply(HTTPStatus.OK, {"ok": True, **self.server.health()})
            if parts == ["intents"]:
                query = parse_qs(url.query)
                states = [IntentState(s) for s in query.get("state", [])] or None
                owner = query.get("owner", [None])[0]
                records = store.find(states=states, owner=owner)
                refunds = refunds_json([r.id for r in records], store)
                listed = [{**record_json(r), "refund": refunds.get(r.id)} for r in records]
                return self._reply(HTTPStatus.OK, {"intents": listed})
            if len(parts) == 2 and parts[0] == "intents":
                return self._reply(HTTPStatus.OK, record_json(store.get(parts[1]), store))
        except UnknownIntentError as err:
            return self._error(HTTPStatus.NOT_FOUND, "id", str(err), "unknown")
        except ValueError as err:
            return self._error(HTTPStatus.BAD_REQUEST, "state", str(err), "malformed")
        self._error(HTTPStatus.NOT_FOUND, "<path>", f"no route {self.path}", "route")


class IntakeServer(ThreadingHTTPServer):
    """The HTTP intake on a background thread: ``start()``, ``url``, ``stop()``."""

    daemon_threads = True

    def __init__(
        self,
        service: IntakeService,
        host: str = "127.0.0.1",
        port: int = 0,
        health: Callable[[], dict[str, Any]] = dict,
    ) -> None:
        super().__init__((host, port), _Handler)
        self.service = service
        self.health = health
        self._thread: threading.Thread | None = None

    @property
    def url(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> IntakeServer:
        self._thread = threading.Thread(target=self.serve_forever, name="intake", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self.server_close()
