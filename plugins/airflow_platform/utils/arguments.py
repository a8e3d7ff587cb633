"""Constructor-argument helpers shared by the operators and sensors."""

from __future__ import annotations

from typing import Any


def set_required(owner: object, **values: Any) -> None:
    """Set each value as an attribute of ``owner``; raise ``ValueError`` naming the empty ones.

    Raises:
        ValueError: a value is ``None`` or an empty string (the message names the class and the arguments).
    """
    missing = [name for name, value in values.items() if value is None or value == ""]
    if missing:
        raise ValueError(f"{type(owner).__name__} needs {' and '.join(missing)}; got an empty value")
    for name, value in values.items():
        setattr(owner, name, value)
