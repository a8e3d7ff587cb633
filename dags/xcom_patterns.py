"""XCom patterns: every way Airflow 3 tasks hand small values to each other.

The ways tasks hand data to each other in Airflow 3, on a tiny list of measurements:

1. **TaskFlow return values** - `generate_measurements` returns a list that `compute_stats` receives;
2. **`multiple_outputs=True`** - `compute_stats` returns a dict whose keys become separate XComs
   (`stats["mean"]`, `stats["maximum"]`), each usable on its own;
3. **dynamic task mapping** - `normalize` is mapped over the measurements, and `total` receives all the
   mapped results in map-index order;
4. **explicit push and pull** - `publish_threshold` pushes a custom key with `ti.xcom_push`,
   `compare_with_threshold` pulls it (and a single `multiple_outputs` key, and one map index) with
   `ti.xcom_pull`, using the context from `airflow.sdk.get_current_context`;
5. **classic operators** - a `BashOperator` pulls a value in a Jinja template, and its own output
   (the last line it prints) flows into a TaskFlow task through `.output`.

Only small, JSON-serialisable values go through XCom; datasets belong in object storage.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.bash import BashOperator
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task

from airflow_platform.dag_defaults import default_args

DEFAULT_ARGS = default_args("data-platform")


@dag(
    dag_id="xcom_patterns",
    schedule=CronTriggerTimetable("0 6 * * *", timezone="UTC"),
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["data-platform", "xcom"],
    doc_md=__doc__,
)
def xcom_patterns():
    """Pass values between tasks with every XCom pattern the platform supports."""

    @task
    def generate_measurements(run_id: str | None = None) -> list[float]:
        """Return ten deterministic measurements (a TaskFlow return value is an XCom)."""
        import random

        # Synthetic, reproducible sample data: not a security use of random.
        rng = random.Random(run_id)  # noqa: S311
        return [round(rng.uniform(10, 20), 3) for _ in range(10)]

    @task(multiple_outputs=True)
    def compute_stats(values: list[float]) -> dict[str, float]:
        """Return several statistics, each stored under its own XCom key."""
        return {
            "mean": round(sum(values) / len(values), 3),
            "minimum": min(values),
            "maximum": max(values),
        }

    @task
    def normalize(value: float, maximum: float) -> float:
        """Scale one measurement by the maximum (one mapped task instance per measurement)."""
        return round(value / maximum, 6)

    @task
    def total(normalized: list[float]) -> float:
        """Sum the outputs of all mapped `normalize` instances."""
        return round(sum(normalized), 6)

    @task
    def publish_threshold() -> None:
        """Push a value under a custom key instead of returning it."""
        get_current_context()["ti"].xcom_push(key="alert_threshold", value=18.5)

    @task
    def compare_with_threshold() -> dict:
        """Pull XComs explicitly: a custom key, one key of a multiple_outputs task and one map index."""
        ti = get_current_context()["ti"]
        threshold = ti.xcom_pull(task_ids="publish_threshold", key="alert_threshold")
        maximum = ti.xcom_pull(task_ids="compute_stats", key="maximum")
        first_normalized = ti.xcom_pull(task_ids="normalize", map_indexes=0)
        if threshold is None or maximum is None or first_normalized is None:
            raise ValueError("an upstream XCom is missing")
        return {"threshold": threshold, "maximum": maximum, "above": maximum > threshold}

    @task
    def report(summary: dict, line_count: str, normalized_total: float) -> str:
        """Combine a TaskFlow result, a classic operator's output and a reduced mapped result."""
        return f"{summary} / {line_count} / total={normalized_total}"

    measurements = generate_measurements()
    stats = compute_stats(measurements)
    normalized = normalize.partial(maximum=stats["maximum"]).expand(value=measurements)
    normalized_total = total(normalized)

    summary = compare_with_threshold()
    [publish_threshold(), normalized_total] >> summary

    echo_mean = BashOperator(
        task_id="echo_mean",
        bash_command=(
            "echo \"mean={{ ti.xcom_pull(task_ids='compute_stats', key='mean') }}\"; "
            "echo \"values={{ ti.xcom_pull(task_ids='generate_measurements') | length }}\""
        ),
    )
    stats >> echo_mean
    report(summary, echo_mean.output, normalized_total)


xcom_patterns()
