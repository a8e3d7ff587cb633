"""Secrets are removed from text before it reaches a log line, an exception or XCom."""

from __future__ import annotations

import secrets

from airflow_platform.utils.redaction import redact


def test_redact_removes_every_secret_longest_first():
    token = secrets.token_hex(8)
    text = f"Bearer {token} then {token}x and {token[:4]}"
    assert redact(text, [token[:4], token, None, ""]) == "Bearer *** then ***x and ***"
