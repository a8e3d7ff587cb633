"""The shared DAG defaults: the platform's retry policy and the failure alert, overridable per DAG."""

from datetime import timedelta

from airflow_platform.dag_defaults import alert_on_failure, default_args


def test_defaults_satisfy_the_platform_rules() -> None:
    args = default_args("data-platform")
    assert args["owner"] == "data-platform"
    assert args["retries"] >= 2
    assert args["on_failure_callback"] == [alert_on_failure]


def test_overrides_replace_and_add_keys() -> None:
    args = default_args("ml-platform", retries=4, execution_timeout=timedelta(minutes=5))
    assert args["retries"] == 4
    assert args["execution_timeout"] == timedelta(minutes=5)
    assert args["retry_exponential_backoff"] == 2.0


def test_each_call_returns_a_new_dict() -> None:
    first = default_args("a-team")
    first["retries"] = 9
    assert default_args("a-team")["retries"] == 2
