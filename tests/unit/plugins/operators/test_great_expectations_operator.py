"""The GX operator's argument validation."""

from __future__ import annotations

import pytest

from airflow_platform.operators.great_expectations import GreatExpectationsOperator


@pytest.mark.parametrize(
    "kwargs",
    [
        {"expectations": [{"type": "expect_column_to_exist", "kwargs": {"column": "a"}}]},
        {"expectations": [{"kwargs": {}}], "data_path": "a.csv"},
        {"data_path": "a.csv"},
        {"expectations": [], "data_path": "a.csv", "table": "t", "conn_id": "c"},
        {"expectations": [], "table": "t"},
    ],
)
def test_gx_operator_rejects_bad_arguments(kwargs):
    with pytest.raises(ValueError):
        GreatExpectationsOperator(task_id="gx", expectation_suite_name="s", **kwargs)


def test_gx_operator_requires_suite_name():
    with pytest.raises(ValueError):
        GreatExpectationsOperator(task_id="gx", expectation_suite_name="", expectations=[], data_path="a.csv")
