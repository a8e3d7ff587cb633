"""The package's one HTTP stack: httpx ``Client`` for blocking calls, ``AsyncClient`` for triggers.

A :class:`RestEndpoint` says where a REST API is, how to authenticate, and how its hook maps an error
answer into :class:`~airflow_platform.exceptions.PlatformPermanentError` or
:class:`~airflow_platform.exceptions.PlatformTransientError`; :class:`RestClient` and
:class:`AsyncRestClient` send :class:`ApiCall` s to it. Transport errors (refused connections,
timeouts, dropped connections) are transient. Messages never carry the endpoint's secrets.
"""

from __future__ import annotations

import functools
import hashlib
import json
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from airflow_platform.exceptions import PlatformPermanentError, PlatformTransientError
from airflow_platform.utils.redaction import redact

DEFAULT_TIMEOUT = 30.0
# Idle keep-alive connections are dropped before servers drop them (uvicorn: 5 s), so a request never
# reuses a connection the server is closing at that moment (which fails as a ReadError).
HTTP_LIMITS = httpx.Limits(keepalive_expiry=2.0)
RETRYABLE_CLIENT_STATUSES = frozenset({408, 429})


@functools.cache
def shared_ssl_context() -> ssl.SSLContext:
    """One TLS context for every client of the process: each default one costs ~0.5 MB."""
    return httpx.create_ssl_context()


def is_transient_status(status: int) -> bool:
    """Whether an HTTP error status is worth retrying: 5xx, 408 and 429."""
    return status >= 500 or status in RETRYABLE_CLIENT_STATUSES


def error_for_status(status: int, message: str) -> PlatformPermanentError | PlatformTransientError:
    """Return the error kind of an HTTP error ``status`` with ``message``."""
    if is_transient_status(status):
        return PlatformTransientError(message)
    return PlatformPermanentError(message)


@dataclass(frozen=True)
class ApiCall:
    """One REST call: ``path`` is relative to the endpoint; ``subject`` names the object in messages.

    ``batch`` marks a call that a shared poller may answer from one request for many waiters,
    e.g. ``("run", run_id)``; a blocking client sends the call as it is.
    """

    method: str
    path: str
    subject: str
    params: Mapping[str, Any] | None = None
    body: Mapping[str, Any] | None = None
    batch: tuple[str, ...] | None = None

    @property
    def key(self) -> tuple[str, str, str, str]:
        """A hashable identity: equal calls are sent once per poll."""
        return (
            self.method,
            self.path,
            json.dumps(self.params, sort_keys=True, default=str),
            json.dumps(self.body, sort_keys=True, default=str),
        )

    def request_kwargs(self) -> dict[str, Any]:
        """The httpx keyword arguments of the call."""
        kwargs: dict[str, Any] = {}
        if self.params is not None:
            kwargs["params"] = dict(self.params)
        if self.body is not None:
            kwargs["json"] = dict(self.body)
        return kwargs


#: How a hook turns an error answer to a call into a permanent or transient error.
StatusErrorMapper = Callable[[httpx.Response, ApiCall], Exception]


@dataclass(frozen=True)
class RestEndpoint:
    """Where a REST API is, its credential and its error mapping; ``repr`` never shows the credential.

    Args:
        base_url: The API's base URL; call paths are relative to it.
        service: The API's name in messages, e.g. ``MLflow``.
        status_error: The hook's mapping of an error answer into a permanent or transient error.
        headers: Headers of every request (the ``Authorization`` header, if any).
        secrets: Values that must never appear in a message.
        verify: Check the server's TLS certificate.
        timeout: Seconds before one request is abandoned (a transient error).
    """

    base_url: str
    service: str
    status_error: StatusErrorMapper = field(repr=False, compare=False)
    headers: Mapping[str, str] = field(default_factory=dict, repr=False)
    secrets: tuple[str, ...] = field(default=(), repr=False)
    verify: bool = True
    timeout: float = DEFAULT_TIMEOUT

    @property
    def fingerprint(self) -> str:
        """A digest of URL, headers, TLS check and timeout: endpoints alike in all of them share pollers."""
        material = json.dumps([self.base_url, sorted(self.headers.items()), self.verify, self.timeout])
        return hashlib.sha256(material.encode()).hexdigest()

    def client_kwargs(self) -> dict[str, Any]:
        """The keyword arguments of the httpx client for this endpoint."""
        return {
            "base_url": self.base_url,
            "headers": dict(self.headers),
            "timeout": self.timeout,
            "limits": HTTP_LIMITS,
            "verify": shared_ssl_context() if self.verify else False,
        }

    def redact(self, text: str) -> str:
        """Return ``text`` without the endpoint's secrets."""
        return redact(text, self.secrets)

    def unreachable(self, exc: httpx.TransportError, call: ApiCall) -> PlatformTransientError:
        """The transient error of a request that got no answer."""
        return PlatformTransientError(
            self.redact(f"{self.service} unreachable for {call.subject}: {type(exc).__name__}: {exc}")
        )

    def answer(self, response: httpx.Response, call: ApiCall) -> dict[str, Any]:
        """Return the JSON answer of a successful call, or raise the hook's error for it."""
        if response.is_success:
            return response.json() if response.content else {}
        error = self.status_error(response, call)
        raise type(error)(self.redact(str(error)))


class RestClient:
    """A blocking client of a :class:`RestEndpoint` (operators, sensor pokes, notifiers).

    Args:
        endpoint: The API to call.
    """

    def __init__(self, endpoint: RestEndpoint) -> None:
        self.endpoint = endpoint
        self._client = httpx.Client(**endpoint.client_kwargs())

    def __enter__(self) -> RestClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def close(self) -> None:
        """Release the connection pool."""
        self._client.close()

    def call(self, call: ApiCall) -> dict[str, Any]:
        """Send one call and return its JSON answer, or raise a permanent or transient error."""
        try:
            response = self._client.request(call.method, call.path, **call.request_kwargs())
        except httpx.TransportError as exc:
            raise self.endpoint.unreachable(exc, call) from None
        return self.endpoint.answer(response, call)


class AsyncRestClient:
    """The asynchronous client of a :class:`RestEndpoint`, for triggers in the triggerer.

    Args:
        endpoint: The API to call.
    """

    def __init__(self, endpoint: RestEndpoint) -> None:
        self.endpoint = endpoint
        self.service = endpoint.service
        self._client = httpx.AsyncClient(**endpoint.client_kwargs())

    async def aclose(self) -> None:
        """Release the connection pool."""
        await self._client.aclose()

    async def call(self, call: ApiCall) -> dict[str, Any]:
        """Send one call and return its JSON answer, or raise a permanent or transient error."""
        try:
            response = await self._client.request(call.method, call.path, **call.request_kwargs())
        except httpx.TransportError as exc:
            raise self.endpoint.unreachable(exc, call) from None
        return self.endpoint.answer(response, call)
