"""The one backoff policy: exponential waits with proportional jitter."""

from __future__ import annotations

import pytest

from airflow_platform.utils.backoff import MAX_BACKOFF_SECONDS, BackoffPolicy


def test_backoff_grows_to_its_maximum_within_jitter():
    backoff = BackoffPolicy(initial=1, maximum=8, factor=2, jitter=0.1)
    for attempt, base in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        assert base * 0.9 <= backoff.delay(attempt) <= base * 1.1


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 5, "maximum": 1}, {"factor": 0.5}, {"jitter": 1.0}]
)
def test_backoff_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="backoff"):
        BackoffPolicy(**kwargs)


def test_backoff_from_a_poll_interval_grows_and_is_capped():
    backoff = BackoffPolicy.from_poll_interval(2.0)
    first, third = backoff.delay(1), backoff.delay(3)
    assert 1.7 <= first <= 2.3
    assert 7.0 <= third <= 9.0
    assert backoff.delay(30) <= MAX_BACKOFF_SECONDS * 1.1


def test_backoff_stays_at_its_maximum_however_long_the_outage():
    backoff = BackoffPolicy(initial=1, maximum=8, factor=2, jitter=0.1)
    assert 8 * 0.9 <= backoff.delay(5000) <= 8 * 1.1
