"""The one backoff policy of the package: tenacity's exponential wait with proportional jitter.

Transient errors are retried after ``initial``, ``initial * factor``, ... up to ``maximum`` seconds,
each delay spread by +/- ``jitter`` of itself so that many waiters do not retry a recovering server in
lockstep. The wait is a tenacity strategy: blocking loops retry with :meth:`BackoffPolicy.retrying`,
and the shared poller, which keeps one failure count per waiter, asks :meth:`BackoffPolicy.delay`.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_never, wait_exponential
from tenacity.wait import wait_base

from airflow_platform.exceptions import PlatformTransientError

# The longest wait of a policy derived from a poll interval (unless the interval is longer).
MAX_BACKOFF_SECONDS = 300.0


class _ProportionalJitter(wait_base):
    """Spread another tenacity wait by a random share of itself."""

    def __init__(self, wait: wait_base, share: float) -> None:
        self.wait = wait
        self.share = share

    def __call__(self, retry_state: RetryCallState) -> float:
        base = self.wait(retry_state)
        return max(0.0, base * random.uniform(1 - self.share, 1 + self.share))  # noqa: S311 - not a secret


@dataclass(frozen=True)
class BackoffPolicy:
    """Exponential backoff from ``initial`` to ``maximum`` seconds by ``factor``, with +/- ``jitter`` share.

    Args:
        initial: The wait after the first consecutive failure.
        maximum: The longest wait.
        factor: The growth per consecutive failure.
        jitter: The random share (0 to <1) each wait is spread by.
    """

    initial: float = 1.0
    maximum: float = 60.0
    factor: float = 2.0
    jitter: float = 0.1

    def __post_init__(self) -> None:
        if self.initial <= 0 or self.maximum < self.initial:
            raise ValueError(f"backoff needs 0 < initial <= maximum, got {self.initial} and {self.maximum}")
        if self.factor < 1:
            raise ValueError(f"backoff factor must be >= 1, got {self.factor}")
        if not 0 <= self.jitter < 1:
            raise ValueError(f"backoff jitter must be in [0, 1), got {self.jitter}")

    @classmethod
    def from_poll_interval(cls, poll_interval: float) -> BackoffPolicy:
        """The policy of waits that poll every ``poll_interval``: doubling from it up to 5 minutes."""
        return cls(initial=poll_interval, maximum=max(MAX_BACKOFF_SECONDS, poll_interval))

    @property
    def wait(self) -> wait_base:
        """The tenacity wait strategy of this policy."""
        exponential = wait_exponential(multiplier=self.initial, max=self.maximum, exp_base=self.factor)
        return _ProportionalJitter(exponential, self.jitter)

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after consecutive failure number ``attempt`` (1-based)."""
        state = RetryCallState(retry_object=None, fn=None, args=(), kwargs={})  # type: ignore[arg-type]
        state.attempt_number = max(1, attempt)
        return self.wait(state)

    def retrying(self, before_sleep: Callable[[RetryCallState], None] | None = None) -> Retrying:
        """Return a tenacity ``Retrying`` that retries :class:`PlatformTransientError` forever."""
        return Retrying(
            retry=retry_if_exception_type(PlatformTransientError),
            wait=self.wait,
            stop=stop_never,
            before_sleep=before_sleep,
            reraise=True,
        )
