"""The base of every sensor of this package: poke once, defer, resume in ``execute_complete``.

A subclass builds its trigger (:meth:`PlatformDeferrableSensor.build_trigger`), whose check ``poke``
also runs, with the blocking client of the sensor's hook (:meth:`PlatformDeferrableSensor.sync_client`),
so both modes decide the same way. Deferrable (``deferrable=`` defaults to ``[operators]
default_deferrable``), the sensor pokes once and, if the wait is not over, hands the trigger to the
triggerer and frees its worker slot; otherwise it pokes in ``poke`` or ``reschedule`` mode.

Errors: a permanent one (unknown object, rejected credentials, missing connection) or a ``failed``
outcome fails the task at once, naming the object. A transient one logs a warning: the poke loop (or
the trigger, with backoff) tries again until the sensor's ``timeout``.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import BaseSensorOperator, PokeReturnValue, conf
from airflow.sdk.exceptions import AirflowFailException

from airflow_platform.exceptions import PlatformTransientError, fail_task_on_permanent_error
from airflow_platform.polling.checks import Check, drive_check, event_details
from airflow_platform.polling.trigger import PlatformPollingTrigger

if TYPE_CHECKING:
    from airflow.sdk import Context


class PlatformDeferrableSensor(BaseSensorOperator):
    """Poke once, defer to the trigger, and return the outcome's XCom value (see the module docstring).

    Args:
        deferrable: Wait in the triggerer instead of a worker slot; ``None`` (the default) reads
            ``[operators] default_deferrable`` when the sensor is created.
        **kwargs: See ``BaseSensorOperator``.
    """

    #: The service's name in messages.
    service: ClassVar[str] = "service"

    def __init__(self, *, deferrable: bool | None = None, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        if deferrable is None:
            deferrable = conf.getboolean("operators", "default_deferrable", fallback=False)
        self.deferrable = deferrable

    def build_trigger(self) -> PlatformPollingTrigger:
        """Return the trigger that waits for this sensor's condition (with rendered arguments)."""
        raise NotImplementedError

    def check(self) -> Check:
        """Return the check one poke runs (default: the trigger's)."""
        return self.build_trigger().check()

    def sync_client(self) -> AbstractContextManager[Any]:
        """Return the hook's blocking client (a context manager with a ``call`` method) for one poke."""
        raise NotImplementedError

    def should_defer(self) -> bool:
        """Whether ``execute`` defers (after one poke) rather than poking in this worker."""
        return self.deferrable

    def xcom_value(self, details: dict[str, Any]) -> Any:
        """The task's return value from a success outcome's details (default: the details)."""
        return details

    def poke(self, context: Context) -> bool | PokeReturnValue:
        """Run the check once; transient errors count as "not yet"."""
        try:
            with fail_task_on_permanent_error(), self.sync_client() as client:
                outcome = drive_check(self.check(), client.call)
        except PlatformTransientError as exc:
            self.log.warning("Transient %s error, will poke again: %s", self.service, exc)
            return False
        if outcome is None:
            return False
        if outcome.status != "success":
            raise AirflowFailException(outcome.message)
        self.log.info("%s", outcome.message)
        value = self.xcom_value(outcome.details)
        return True if value is None else PokeReturnValue(is_done=True, xcom_value=value)

    def execute(self, context: Context) -> Any:
        """Poke once; if the wait is not over, defer to the triggerer (or keep poking when not deferring)."""
        if not self.should_defer():
            return super().execute(context)
        done = self.poke(context)
        if isinstance(done, PokeReturnValue):
            return done.xcom_value
        if done:
            return self.xcom_value({})
        self.defer(
            trigger=self.build_trigger(),
            method_name="execute_complete",
            timeout=timedelta(seconds=self.timeout),
        )
        return None

    def execute_complete(self, context: Context, event: dict[str, Any] | None = None) -> Any:
        """Resume after the trigger fired: return the XCom value of its details, or fail with its message."""
        details = event_details(event, self.service)
        self.log.info("%s", (event or {}).get("message", ""))
        return self.xcom_value(details)
