"""The base of every trigger of this package: wait on a shared poller, fire one event.

A subclass names the fields that :meth:`PlatformPollingTrigger.serialize` stores (ids and timings,
never credentials), builds its check, and says which :class:`~airflow_platform.polling.poller.SharedPoller`
answers it (:meth:`PlatformPollingTrigger.poller`, which reads the connection in the triggerer).
Events have the shape ``{status, message, details}``: ``success`` or ``failed`` (the awaited state or
its failing counterpart, from the check's outcome) and ``error`` (a permanent error: unknown object,
rejected credentials, missing connection).
Transient errors are retried with the trigger's backoff; the task's deferral timeout bounds the wait.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, ClassVar

from airflow.triggers.base import BaseTrigger, TriggerEvent

from airflow_platform.exceptions import PlatformPermanentError
from airflow_platform.polling.checks import Check, error_payload
from airflow_platform.polling.poller import SharedPoller
from airflow_platform.utils.backoff import BackoffPolicy


class PlatformPollingTrigger(BaseTrigger):
    """Poll a check through the shared poller of its service until it finishes; yield exactly one event.

    Args:
        poll_interval: Seconds between checks while the awaited state is not reached.
    """

    #: The constructor arguments that ``serialize`` stores: what the check is about, then the settings.
    check_fields: ClassVar[tuple[str, ...]] = ()
    settings_fields: ClassVar[tuple[str, ...]] = ("poll_interval",)
    #: The service's name in messages.
    service: ClassVar[str] = "service"

    def __init__(self, *, poll_interval: float = 30.0) -> None:
        super().__init__()
        if poll_interval <= 0:
            raise ValueError(f"poll_interval must be positive, got {poll_interval}")
        self.poll_interval = poll_interval

    def check(self) -> Check:
        """Return a fresh check for one poll."""
        raise NotImplementedError

    def backoff(self) -> BackoffPolicy:
        """The waits after consecutive transient errors (default: from the poll interval up to 5 min)."""
        return BackoffPolicy.from_poll_interval(self.poll_interval)

    async def poller(self) -> SharedPoller:
        """Return the shared poller that answers this trigger's check (reads the connection)."""
        raise NotImplementedError

    def serialize(self) -> tuple[str, dict[str, Any]]:
        """Return the classpath and the kwargs that rebuild this trigger in the triggerer."""
        kwargs = {name: getattr(self, name) for name in (*self.check_fields, *self.settings_fields)}
        return f"{type(self).__module__}.{type(self).__qualname__}", kwargs

    async def run(self) -> AsyncIterator[TriggerEvent]:
        """Wait on the shared poller until the check finishes; yield exactly one event."""
        try:
            poller = await self.poller()
        except PlatformPermanentError as exc:
            yield TriggerEvent(error_payload(f"{self.service} connection: {exc}"))
            return
        try:
            outcome = await poller.wait(self.check, float(self.poll_interval), self.backoff())
        except PlatformPermanentError as exc:
            yield TriggerEvent(error_payload(str(exc)))
            return
        yield TriggerEvent(outcome.payload())
