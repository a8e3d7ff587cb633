"""Fixtures for the trigger tests."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from airflow.sdk.module_loading import import_string
from airflow.triggers.base import BaseTrigger


def _rebuild(trigger: BaseTrigger) -> BaseTrigger:
    classpath, kwargs = trigger.serialize()
    # As the triggerer does: import the serialised classpath, then call it with the serialised kwargs.
    return import_string(classpath)(**kwargs)


@pytest.fixture(scope="session")
def rebuild() -> Callable[[BaseTrigger], BaseTrigger]:
    """Rebuild a trigger from its serialised form, as the triggerer does."""
    return _rebuild
