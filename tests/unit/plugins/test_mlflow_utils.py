"""The backoff and redaction helpers the MLflow (and other) plugins use."""

from __future__ import annotations

import secrets

import pytest

from airflow_platform.utils.backoff import Backoff
from airflow_platform.utils.redaction import redact


def test_backoff_grows_to_its_maximum_within_jitter():
    backoff = Backoff(initial=1, maximum=8, factor=2, jitter=0.1)
    for attempt, base in [(1, 1), (2, 2), (3, 4), (4, 8), (9, 8)]:
        assert base * 0.9 <= backoff.delay(attempt) <= base * 1.1


@pytest.mark.parametrize(
    "kwargs", [{"initial": 0}, {"initial": 5, "maximum": 1}, {"factor": 0.5}, {"jitter": 1.0}]
)
def test_backoff_rejects_bad_settings(kwargs):
    with pytest.raises(ValueError, match="backoff"):
        Backoff(**kwargs)


def test_redact_removes_every_secret_longest_first():
    token = secrets.token_hex(8)
    text = f"Bearer {token} then {token}x and {token[:4]}"
    assert redact(text, [token[:4], token, None, ""]) == "Bearer *** then ***x and ***"
