"""Exponential backoff with jitter, for retrying transient errors inside poke and trigger loops."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True)
class Backoff:
    """Delays that grow by ``factor`` from ``initial`` up to ``maximum`` seconds, with +/- ``jitter`` share.

    ``delay(1)`` is the wait after the first failure, ``delay(2)`` after the second, and so on. The
    jitter spreads the retries of many waiters (e.g. hundreds of triggers in one triggerer) so that they
    do not hit a recovering server at the same instant.
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

    def delay(self, attempt: int) -> float:
        """Return the seconds to wait after failed attempt number ``attempt`` (1-based)."""
        base = min(self.maximum, self.initial * self.factor ** max(0, attempt - 1))
        spread = base * self.jitter
        return max(0.0, base + random.uniform(-spread, spread))  # noqa: S311 - jitter, not a secret
