"""The two kinds of error every hook of this package raises, and where they become task failures.

A hook maps its client's errors (HTTP statuses, transport errors, database and S3 errors) into
:class:`PlatformPermanentError` (retrying cannot help: an unknown object, rejected credentials, invalid
input) or :class:`PlatformTransientError` (the service could not answer now: refused connections,
timeouts, 5xx, 429); a connection that does not exist is permanent (:func:`connection_required`).
Hooks, conditions and triggers never raise task-level exceptions; operators and sensors turn a
permanent error into ``AirflowFailException`` with :func:`fail_task_on_permanent_error`, so the task
fails once, naming the object, while a transient error is retried with backoff.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from airflow.sdk.exceptions import AirflowFailException, AirflowNotFoundException


class PlatformPermanentError(Exception):
    """The request cannot succeed (unknown object, rejected credentials, invalid argument)."""


class PlatformTransientError(Exception):
    """The service could not answer now (refused, timeout, 5xx, 429): worth retrying."""


@contextmanager
def connection_required() -> Iterator[None]:
    """In a hook, around reading a connection: a connection that does not exist is a permanent error.

    Raises:
        PlatformPermanentError: the block raised Airflow's ``AirflowNotFoundException`` (its message is kept).
    """
    try:
        yield
    except AirflowNotFoundException as exc:
        raise PlatformPermanentError(str(exc)) from None


@contextmanager
def fail_task_on_permanent_error() -> Iterator[None]:
    """In an operator or a sensor: fail the task at once, without retries, on a permanent error.

    Raises:
        AirflowFailException: the block raised :class:`PlatformPermanentError` (its message is kept).
    """
    try:
        yield
    except PlatformPermanentError as exc:
        raise AirflowFailException(str(exc)) from None
