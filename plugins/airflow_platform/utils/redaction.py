"""Remove secret values from text before it reaches a log line, an exception or XCom."""

from __future__ import annotations

from collections.abc import Iterable

REDACTED = "***"


def redact(text: str, secrets: Iterable[str | None]) -> str:
    """Return ``text`` with every occurrence of each non-empty secret replaced by ``***``.

    Longer secrets are replaced first so that a secret containing another is removed whole.
    """
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        text = text.replace(secret, REDACTED)
    return text
