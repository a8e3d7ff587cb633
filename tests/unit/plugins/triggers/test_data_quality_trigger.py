"""The data-quality trigger: serialize() round-trips with plain source and checks."""

from __future__ import annotations

import json

from airflow_platform.hooks.great_expectations import DataQualityChecks, DataSource
from airflow_platform.triggers.data_quality import DataQualityTrigger


def test_trigger_serialize_round_trips():
    source = DataSource(table="public.orders", conn_id="postgres_warehouse")
    checks = DataQualityChecks(min_rows=10, max_null_share={"id": 0.0}, required_columns=("id",))
    trigger = DataQualityTrigger(source=source.to_dict(), checks=checks.to_dict(), poll_interval=3)
    classpath, kwargs = trigger.serialize()
    assert classpath == "airflow_platform.triggers.data_quality.DataQualityTrigger"
    assert json.loads(json.dumps(kwargs)) == kwargs
    rebuilt = DataQualityTrigger(**kwargs)
    assert rebuilt.serialize() == trigger.serialize()
    assert DataSource(**kwargs["source"]) == source
    assert DataQualityChecks.from_dict(kwargs["checks"]) == checks
