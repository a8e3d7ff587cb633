"""The stand-in session: the HTTP endpoint the SDK connects to instead of the engine.

The SDK's session (``dagger.client._session``) posts GraphQL-over-HTTP to
``http://127.0.0.1:$DAGGER_SESSION_PORT/query`` with gql's httpx transport: a JSON body
``{"query", "variables", "operationName"}`` and HTTP basic auth whose user is
``$DAGGER_SESSION_TOKEN``. This server speaks exactly that on a free loopback port and hands every
document to a :class:`~platform_devkit.dagger_replay.engine.StandInEngine`.
"""

import base64
import functools
import hmac
import json
import secrets
import sys
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self

from platform_devkit.dagger_replay.engine import StandInEngine

QUERY_PATH = "/query"
"""The path the SDK posts to."""
SHUTDOWN_POLL = 0.05
"""Seconds between the server loop's checks for a shutdown request (the stdlib default is 0.5)."""


class _Server(ThreadingHTTPServer):
    """A threaded HTTP server that knows its engine and the session token."""

    daemon_threads = True
    # The SDK opens many connections at once (it resolves IDs concurrently); with the default backlog
    # of 5 the kernel resets some of them and the SDK silently retries, sending documents twice.
    request_queue_size = 128

    def __init__(self, engine: StandInEngine, token: str) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.engine = engine
        self.expected_auth = "Basic " + base64.b64encode(f"{token}:".encode()).decode()

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away (the module process exits with idle keep-alive connections)."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            super().handle_error(request, client_address)


class _Handler(BaseHTTPRequestHandler):
    """Answers ``POST /query``; anything else, or a wrong token, is refused."""

    server: _Server
    # Keep-alive, as the engine does: httpx reuses the connection for the session's queries.
    protocol_version = "HTTP/1.1"
    # Send headers and body in one segment, at once: written separately, Nagle's algorithm and the
    # client's delayed ACK cost ~40 ms per query.
    wbufsize = -1
    disable_nagle_algorithm = True

    def do_POST(self) -> None:
        """Execute one GraphQL request."""
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path != QUERY_PATH:
            self._reply(HTTPStatus.NOT_FOUND, {"errors": [{"message": f"no such endpoint {self.path}"}]})
            return
        if not hmac.compare_digest(self.headers.get("Authorization", ""), self.server.expected_auth):
            self._reply(HTTPStatus.UNAUTHORIZED, {"errors": [{"message": "wrong or missing session token"}]})
            return
        try:
            request = json.loads(body)
        except ValueError as error:
            self._reply(HTTPStatus.BAD_REQUEST, {"errors": [{"message": f"not JSON: {error}"}]})
            return
        response = self.server.engine.execute(
            request.get("query", ""), request.get("variables"), request.get("operationName")
        )
        self._reply(HTTPStatus.OK, response)

    def _reply(self, status: HTTPStatus, payload: Any) -> None:
        encoded = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(encoded)))
        self.end_headers()
        self.wfile.write(encoded)

    def log_message(self, format: str, *args: Any) -> None:
        """Stay quiet: every request is recorded by the engine instead."""


class StandInSession:
    """A running stand-in session: use as a context manager, then pass :attr:`port` and :attr:`token`.

    Args:
        engine: What validates, executes and records the documents.
        token: The session token the SDK must present; a random one by default.
    """

    def __init__(self, engine: StandInEngine, token: str | None = None) -> None:
        self.engine = engine
        self.token = token or secrets.token_hex(16)
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The loopback port the session listens on (only while running)."""
        assert self._server is not None, "the session is not running"
        return self._server.server_address[1]

    def __enter__(self) -> Self:
        self._server = _Server(self.engine, self.token)
        serve = functools.partial(self._server.serve_forever, poll_interval=SHUTDOWN_POLL)
        self._thread = threading.Thread(target=serve, name="stand-in", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        assert self._server is not None and self._thread is not None
        self._server.shutdown()
        self._server.server_close()
        self._thread.join()
        self._server = self._thread = None
