"""The one backoff policy of the package: exponential waits with proportional jitter.

Transient errors are retried after ``initial``, ``initial * factor``, ... up to ``maximum`` seconds,
each delay spread by +/- ``jitter`` of itself so that many waiters do not retry a recovering server in
lockstep. Both users keep their own count of consecutive failures and ask :meth:`BackoffPolicy.delay`
for the next wait: the shared poller one count per waiter, the blocking KFP wait one count between its
deadline checks. tenacity's ``Retrying`` drives the call itself and its waits read a ``RetryCallState``,
so it serves neither; the formula is tenacity's ``wait_exponential``.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

# The longest wait of a policy derived from a poll interval (unless the interval is longer).
MAX_BACKOFF_SECONDS = 300.0


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

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after consecutive failure number ``attempt`` (1-based)."""
        try:
            base = min(self.maximum, self.initial * self.factor ** (max(1, attempt) - 1))
        except OverflowError:  # an outage of thousands of failures: the wait reached its maximum long ago
            base = self.maximum
        return max(0.0, base * random.uniform(1 - self.jitter, 1 + self.jitter))  # noqa: S311 - not a secret
