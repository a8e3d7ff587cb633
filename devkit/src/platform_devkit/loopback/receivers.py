"""In-process receivers for what the platform sends out: e-mail (SMTP) and webhooks (HTTP).

Both are real servers on loopback threads: Airflow workers in other processes deliver to them over
TCP, and tests read what arrived from :attr:`SmtpReceiver.messages` and
:attr:`WebhookReceiver.requests`.
"""

from __future__ import annotations

import email
import email.policy
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Generic, TypeVar

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session

from platform_devkit.loopback.base import free_port

T = TypeVar("T")


class Inbox(Generic[T]):
    """A thread-safe list of received items that tests can wait on."""

    def __init__(self) -> None:
        self._items: list[T] = []
        self._changed = threading.Condition()

    def append(self, item: T) -> None:
        """Record one received item and wake up waiters."""
        with self._changed:
            self._items.append(item)
            self._changed.notify_all()

    def snapshot(self) -> list[T]:
        """Return a copy of everything received so far."""
        with self._changed:
            return list(self._items)

    def clear(self) -> None:
        """Forget everything received so far."""
        with self._changed:
            self._items.clear()

    def wait_for(self, predicate: Callable[[T], bool], timeout: float = 30.0) -> T:
        """Return the first received item matching ``predicate``, waiting up to ``timeout`` seconds.

        Raises:
            TimeoutError: nothing matching arrived in time; the message counts what did arrive.
        """
        deadline = time.monotonic() + timeout
        with self._changed:
            while True:
                for item in self._items:
                    if predicate(item):
                        return item
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(
                        f"nothing matching arrived within {timeout:.0f}s ({len(self._items)} received)"
                    )
                self._changed.wait(remaining)


class _CollectingHandler:
    """aiosmtpd handler that parses each delivered message into the inbox."""

    def __init__(self, inbox: Inbox[EmailMessage]) -> None:
        self.inbox = inbox

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        raw = envelope.content if isinstance(envelope.content, bytes) else str(envelope.content).encode()
        message = email.message_from_bytes(raw, policy=email.policy.default)
        if isinstance(message, EmailMessage):
            self.inbox.append(message)
        return "250 Message accepted for delivery"


class SmtpReceiver:
    """An SMTP server (aiosmtpd) on a free loopback port that keeps every message it receives."""

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.inbox: Inbox[EmailMessage] = Inbox()
        self._controller = Controller(_CollectingHandler(self.inbox), hostname=self.host, port=self.port)

    @property
    def messages(self) -> list[EmailMessage]:
        """The messages received so far."""
        return self.inbox.snapshot()

    def wait_for(self, predicate: Callable[[EmailMessage], bool], timeout: float = 30.0) -> EmailMessage:
        """Return the first message matching ``predicate``, waiting up to ``timeout`` seconds."""
        return self.inbox.wait_for(predicate, timeout)

    def start(self) -> SmtpReceiver:
        """Start serving."""
        self._controller.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._controller.stop()


@dataclass(frozen=True)
class ReceivedRequest:
    """One HTTP request a webhook receiver got."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        """The body parsed as JSON, or ``None`` when it is not JSON."""
        try:
            return json.loads(self.body)
        except (ValueError, UnicodeDecodeError):
            return None


class WebhookReceiver:
    """An HTTP server on a free loopback port that answers 200 to any POST/PUT/GET and keeps the requests.

    It stands in for the Slack and PagerDuty endpoints: the platform's notifiers are pointed at
    :attr:`url` through their Airflow connections.
    """

    def __init__(self) -> None:
        self.host = "127.0.0.1"
        self.port = free_port()
        self.inbox: Inbox[ReceivedRequest] = Inbox()
        inbox = self.inbox

        class Handler(BaseHTTPRequestHandler):
            def _record(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                inbox.append(ReceivedRequest(self.command, self.path, dict(self.headers.items()), body))
                # PagerDuty's Events API v2 clients require "dedup_key" in the reply; Slack ignores the body.
                reply = b'{"ok": true, "status": "success", "dedup_key": "received"}'
                # PagerDuty's Events API v2 answers 202 to /v2/enqueue; everything else gets 200.
                self.send_response(202 if self.path.endswith("/enqueue") else 200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(reply)))
                self.end_headers()
                self.wfile.write(reply)

            do_GET = do_POST = do_PUT = _record

            def log_message(self, format: str, *args: Any) -> None:
                """Keep request lines out of the test output."""

        self._server = ThreadingHTTPServer((self.host, self.port), Handler)
        self._thread = threading.Thread(
            target=self._server.serve_forever, name="webhook-receiver", daemon=True
        )

    @property
    def url(self) -> str:
        """The receiver's base URL; any path below it is accepted."""
        return f"http://{self.host}:{self.port}"

    @property
    def requests(self) -> list[ReceivedRequest]:
        """The requests received so far."""
        return self.inbox.snapshot()

    def wait_for(
        self, predicate: Callable[[ReceivedRequest], bool], timeout: float = 30.0
    ) -> ReceivedRequest:
        """Return the first request matching ``predicate``, waiting up to ``timeout`` seconds."""
        return self.inbox.wait_for(predicate, timeout)

    def start(self) -> WebhookReceiver:
        """Start serving in a background thread."""
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()
