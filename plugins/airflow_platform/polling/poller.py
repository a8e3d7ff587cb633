"""One poller per service and credential in an event loop: it answers the checks of every waiting trigger.

Triggers of one kind against one server (same URL, credential and TLS settings) share a
:class:`SharedPoller`. Once per poll interval it drives the checks of all waiters that are due: their
calls are collected, equal calls are sent once, and calls a :class:`Batcher` understands (e.g. MLflow
``runs/get`` for many run ids) are answered from one paged request; then the answers are fanned out.
A check may need several calls; each round of a poll is coalesced the same way.

Each waiter keeps its own poll interval, failure count and backoff: a transient error (the request for
its call failed) delays that waiter by its :class:`~airflow_platform.utils.backoff.BackoffPolicy`; a
permanent error ends its wait with that error, and only its wait. A waiter that leaves (its trigger
fired, timed out or was cancelled) is removed at once; when the last one leaves, the poller stops and
closes its client, and a new waiter starts a fresh poller.
"""

from __future__ import annotations

import asyncio
import contextlib
import weakref
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar, Protocol

import structlog

from airflow_platform.exceptions import PlatformTransientError
from airflow_platform.polling.checks import Check, Outcome
from airflow_platform.utils.backoff import BackoffPolicy

log = structlog.get_logger(__name__)

# A waiter joining a poller whose next poll is less than one interval away waits for that poll; a
# waiter of an idle poller waits this long, so that triggers starting together share their first poll.
JOIN_WINDOW = 0.1
# Waiters due within this share of their interval are polled early, so their schedules converge.
ALIGN_SHARE = 0.25


class AsyncCaller(Protocol):
    """What a poller sends calls through: a hook's asynchronous client."""

    service: str

    async def call(self, call: Any) -> Any:
        """Answer one call, or raise a permanent or transient error."""

    async def aclose(self) -> None:
        """Release the client's resources."""


class Batcher(Protocol):
    """Answers many calls of one ``batch`` kind (``call.batch[0]``) with as few requests as the API allows."""

    kind: str

    async def fetch(self, caller: AsyncCaller, calls: list[Any]) -> dict[Hashable, Any]:
        """Return ``{call.key: answer}`` for the calls it answered; the poller sends the others one by one."""


@dataclass(eq=False)
class _Waiter:
    make_check: Callable[[], Check]
    poll_interval: float
    backoff: BackoffPolicy
    future: asyncio.Future[Outcome]
    due: float
    failures: int = 0


@dataclass(eq=False)
class _Round:
    """The checks of one poll that wait for an answer, by waiter."""

    pending: dict[_Waiter, tuple[Check, Any]] = field(default_factory=dict)
    transient: list[tuple[_Waiter, PlatformTransientError]] = field(default_factory=list)


class SharedPoller:
    """The poller of one service endpoint in one event loop (see the module docstring).

    Args:
        key: What identifies the endpoint (kind, URL, a credential digest).
        open_caller: Creates the asynchronous client when the poller starts.
        batchers: The batchers of this service (fresh ones per poller).
        max_concurrency: Calls of one round sent at the same time.
    """

    _pollers: ClassVar[weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, dict[Hashable, SharedPoller]]] = (
        weakref.WeakKeyDictionary()
    )

    def __init__(
        self,
        key: Hashable,
        open_caller: Callable[[], AsyncCaller],
        batchers: Iterable[Batcher] = (),
        max_concurrency: int = 4,
    ) -> None:
        self.key = key
        self.caller: AsyncCaller | None = None
        self._open_caller = open_caller
        self._batchers = {batcher.kind: batcher for batcher in batchers}
        self._max_concurrency = max_concurrency
        self._waiters: dict[_Waiter, None] = {}
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    @classmethod
    def shared(
        cls,
        key: Hashable,
        open_caller: Callable[[], AsyncCaller],
        batchers: Callable[[], Iterable[Batcher]] = tuple,
    ) -> SharedPoller:
        """Return the running event loop's poller for ``key``, creating it if there is none."""
        pollers = cls._pollers.setdefault(asyncio.get_running_loop(), {})
        poller = pollers.get(key)
        if poller is None:
            poller = pollers[key] = cls(key, open_caller, batchers())
        return poller

    @classmethod
    def running(cls) -> dict[Hashable, SharedPoller]:
        """The pollers of the running event loop, by key."""
        return dict(cls._pollers.get(asyncio.get_running_loop(), {}))

    @property
    def waiters(self) -> int:
        """How many triggers wait on this poller."""
        return len(self._waiters)

    async def stopped(self) -> None:
        """Wait until the poller's task has ended and its client is closed."""
        if self._task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait([self._task])

    async def wait(
        self, make_check: Callable[[], Check], poll_interval: float, backoff: BackoffPolicy
    ) -> Outcome:
        """Poll ``make_check()`` until it returns an outcome; raise its permanent error if one occurs.

        Args:
            make_check: Returns a fresh check for each poll.
            poll_interval: Seconds between polls while the check says "not yet".
            backoff: The waits after consecutive transient errors.
        """
        loop = asyncio.get_running_loop()
        waiter = _Waiter(
            make_check, poll_interval, backoff, loop.create_future(), self._first_due(poll_interval)
        )
        self._waiters[waiter] = None
        if self._task is None:
            self._task = asyncio.create_task(self._run(), name="shared poller")
        self._wake.set()
        try:
            return await waiter.future
        finally:
            self._leave(waiter)

    def _active(self) -> list[_Waiter]:
        return [w for w in self._waiters if not w.future.done()]

    def _first_due(self, poll_interval: float) -> float:
        now = asyncio.get_running_loop().time()
        scheduled = min((w.due for w in self._active()), default=None)
        if scheduled is not None and scheduled - now <= poll_interval:
            return max(scheduled, now)
        return now + JOIN_WINDOW

    def _leave(self, waiter: _Waiter) -> None:
        self._waiters.pop(waiter, None)
        if not waiter.future.done():
            waiter.future.cancel()
        if self._waiters:
            return
        self._unregister()
        if self._task is not None and not self._task.done():
            self._task.cancel()

    def _unregister(self) -> None:
        pollers = self._pollers.get(asyncio.get_running_loop(), {})
        if pollers.get(self.key) is self:
            del pollers[self.key]

    async def _run(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            self.caller = self._open_caller()
            while True:
                active = self._active()
                delay = min(w.due for w in active) - loop.time() if active else None
                if delay is None or delay > 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), delay)
                    continue
                await self._poll(loop.time())
        except Exception as exc:  # a broken client or batcher: every waiter learns of it instead of hanging
            for waiter in self._waiters:
                _settle(waiter, error=exc)
        finally:
            self._unregister()
            if self.caller is not None:
                with contextlib.suppress(Exception):
                    await self.caller.aclose()

    async def _poll(self, started: float) -> None:
        due = [w for w in self._active() if w.due <= started + ALIGN_SHARE * w.poll_interval]
        poll = _Round()
        for waiter in due:
            self._advance(poll, waiter, waiter.make_check(), None, started)
        while poll.pending:
            current, poll.pending = poll.pending, {}
            answers = await self._answer([call for _, call in current.values()])
            for waiter, (check, call) in current.items():
                answer = answers[call.key]
                if waiter not in self._waiters:
                    check.close()
                elif isinstance(answer, PlatformTransientError):
                    check.close()
                    poll.transient.append((waiter, answer))
                elif isinstance(answer, Exception):
                    check.close()
                    _settle(waiter, error=answer)
                else:
                    self._advance(poll, waiter, check, answer, started)
        self._retry_later(poll.transient)

    def _advance(self, poll: _Round, waiter: _Waiter, check: Check, answer: Any, started: float) -> None:
        """Send ``answer`` into the check; keep its next call, or settle or reschedule the waiter."""
        try:
            call = check.send(answer)
        except StopIteration as done:
            if done.value is not None:
                _settle(waiter, outcome=done.value)
            else:
                waiter.failures = 0
                waiter.due = started + waiter.poll_interval
            return
        except Exception as exc:  # an answer the check cannot read ends that wait only
            _settle(waiter, error=exc)
            return
        poll.pending[waiter] = (check, call)

    def _retry_later(self, transient: list[tuple[_Waiter, PlatformTransientError]]) -> None:
        if not transient:
            return
        now = asyncio.get_running_loop().time()
        delays = []
        for waiter, _ in transient:
            waiter.failures += 1
            delays.append(waiter.backoff.delay(waiter.failures))
            waiter.due = now + delays[-1]
        service = self.caller.service if self.caller is not None else "service"
        log.warning(
            "Transient %s error (attempt %d) for %d waiting trigger(s), retrying in %.1fs: %s",
            service,
            max(w.failures for w, _ in transient),
            len(transient),
            min(delays),
            transient[0][1],
        )

    async def _answer(self, calls: list[Any]) -> dict[Hashable, Any]:
        """Answer each distinct call once: batched where a batcher takes it, else one request each."""
        unique = {call.key: call for call in calls}
        answers: dict[Hashable, Any] = {}
        groups: dict[str, list[Any]] = {}
        for call in unique.values():
            kind = call.batch[0] if getattr(call, "batch", None) else None
            if kind in self._batchers:
                groups.setdefault(kind, []).append(call)
        for kind, group in groups.items():
            try:
                answers.update(await self._batchers[kind].fetch(self._caller(), group))
            except Exception as exc:  # the batched request failed: so did each of its calls
                answers.update({call.key: exc for call in group})
        limit = asyncio.Semaphore(self._max_concurrency)

        async def one(call: Any) -> None:
            async with limit:
                try:
                    answers[call.key] = await self._caller().call(call)
                except Exception as exc:  # handed to the waiters of this call
                    answers[call.key] = exc

        await asyncio.gather(*(one(call) for key, call in unique.items() if key not in answers))
        return answers

    def _caller(self) -> AsyncCaller:
        if self.caller is None:
            raise RuntimeError("the poller's client is not open")
        return self.caller


def _settle(waiter: _Waiter, *, outcome: Outcome | None = None, error: Exception | None = None) -> None:
    if waiter.future.done():
        return
    if error is not None:
        waiter.future.set_exception(error)
    else:
        waiter.future.set_result(outcome)  # type: ignore[arg-type]
