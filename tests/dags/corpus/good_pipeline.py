"""A DAG that follows every rule: task groups, a mapped task, a KubernetesExecutor task, declared pools."""

from datetime import datetime, timedelta

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task

with DAG(
    dag_id="corpus_good_pipeline",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["corpus"],
    default_args={"owner": "ml-platform", "retries": 2, "retry_delay": timedelta(minutes=1)},
):
    start = EmptyOperator(task_id="start")

    with TaskGroup("extract"):

        @task(pool="api_calls")
        def list_sources() -> list[str]:
            return ["a", "b"]

        @task(pool="cpu_intensive")
        def extract(source: str) -> str:
            return source

        extracted = extract.expand(source=list_sources())

    @task(executor="KubernetesExecutor", pool="gpu_pool")
    def train(items: list[str]) -> int:
        return len(items)

    start >> extracted
    train(extracted) >> EmptyOperator(task_id="end", trigger_rule="none_failed_min_one_success")
