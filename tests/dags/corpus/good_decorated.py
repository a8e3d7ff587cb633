"""A @dag-decorated DAG that reads its Variable and Connection at run time, never while parsing."""

from datetime import datetime

from airflow.sdk import BaseHook, Variable, dag, task


@dag(
    schedule=None,
    start_date=datetime(2026, 1, 1),
    tags=["corpus"],
    default_args={"owner": "data-eng", "retries": 3},
)
def corpus_good_decorated():
    @task
    def read_settings() -> str:
        threshold = Variable.get("ml_accuracy_threshold", default="0.85")
        return f"{threshold}:{BaseHook.get_connection('mlflow_default').host}"

    read_settings()


corpus_good_decorated()
