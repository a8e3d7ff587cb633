"""Pools and priorities: throttle API, CPU and GPU work with pools, order it with weights.

How the platform's pools (declared as code in `config/platform.yaml`) and priority weights shape a run:

| task | pool | slots | priority | weight rule |
|---|---|---|---|---|
| `call_partner_api` (mapped per endpoint) | `api_calls` (16) | 1 | 5 | absolute |
| `engineer_features` (mapped per partition) | `cpu_intensive` (8) | 2 | 3 | downstream |
| `train_model` (KubernetesExecutor, GPU pod) | `gpu_pool` (2) | 1 | 10 | absolute |
| `publish_report` | `default_pool` | 1 | 1 | upstream |

`api_calls` caps the concurrency against the rate-limited partner API (connection `partner_api`);
`cpu_intensive` keeps feature engineering from starving the workers; `gpu_pool` matches the number of
GPU nodes. Training fits a least-squares line with numpy on the engineered features.
"""

from __future__ import annotations

# Top-level `airflow.*` imports are pre-imported once by the dag-processor's parent process
# ([dag_processor] parsing_pre_import_modules) and inherited by every parse. The provider's pod_generator
# imports the Kubernetes models, so the import below makes `kubernetes.client` free for each parse of this
# file instead of costing seconds.
import airflow.providers.cncf.kubernetes.pod_generator  # noqa: F401
import pendulum
from airflow.sdk import WeightRule, dag, task

from airflow_platform.dag_defaults import default_args
from airflow_platform.pod_overrides import gpu_pod_override

PARTNER_ENDPOINTS = ["rates/eur", "rates/usd", "rates/jpy"]
PARTITIONS = ["2026-q1", "2026-q2", "2026-q3", "2026-q4"]
# Training runs in a GPU pod. Where no cluster exists (the end-to-end tests, `platform-dev`), the
# executor alias KubernetesExecutor is configured to a Celery executor instead; this DAG stays as is.
TRAINING_EXECUTOR = "KubernetesExecutor"


DEFAULT_ARGS = default_args("ml-platform")


@dag(
    dag_id="pools_priorities",
    schedule="@daily",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    tags=["ml-platform", "pools"],
    doc_md=__doc__,
)
def pools_priorities():
    """Throttle API calls, CPU-heavy work and GPU training with pools; order them with priorities."""

    @task(pool="api_calls", priority_weight=5, weight_rule=WeightRule.ABSOLUTE)
    def call_partner_api(endpoint: str) -> dict:
        """Call one endpoint of the partner API (host and credentials from connection `partner_api`)."""
        from airflow.providers.http.hooks.http import HttpHook

        response = HttpHook(method="GET", http_conn_id="partner_api").run(endpoint)
        return {"endpoint": endpoint, "status": response.status_code, "bytes": len(response.content)}

    @task(pool="cpu_intensive", pool_slots=2, priority_weight=3, weight_rule=WeightRule.DOWNSTREAM)
    def engineer_features(partition: str) -> list[list[float]]:
        """Compute (x, y) training points for one partition: y = 3x + 2 plus deterministic noise."""
        import random

        # Synthetic, reproducible sample data: not a security use of random.
        rng = random.Random(partition)  # noqa: S311
        points = []
        for _ in range(50):
            x = rng.uniform(0, 10)
            points.append([round(x, 4), round(3 * x + 2 + rng.gauss(0, 0.5), 4)])
        return points

    @task(
        pool="gpu_pool",
        priority_weight=10,
        weight_rule=WeightRule.ABSOLUTE,
        executor=TRAINING_EXECUTOR,
        executor_config=gpu_pod_override(cpu="1", cpu_limit="2", memory="2Gi", memory_limit="4Gi"),
    )
    def train_model(partitions: list[list[list[float]]]) -> dict:
        """Fit y = slope * x + intercept by least squares over all partitions."""
        import numpy as np

        points = np.array([point for partition in partitions for point in partition])
        design = np.column_stack([points[:, 0], np.ones(len(points))])
        (slope, intercept), residuals, *_ = np.linalg.lstsq(design, points[:, 1], rcond=None)
        rmse = float(np.sqrt(residuals[0] / len(points))) if len(residuals) else 0.0
        return {
            "slope": round(float(slope), 4),
            "intercept": round(float(intercept), 4),
            "rmse": round(rmse, 4),
        }

    @task(priority_weight=1, weight_rule=WeightRule.UPSTREAM)
    def publish_report(api_results: list[dict], model: dict) -> str:
        """Summarise the API calls and the fitted model."""
        failed = [result["endpoint"] for result in api_results if result["status"] >= 400]
        if failed:
            raise RuntimeError(f"partner API calls failed: {', '.join(failed)}")
        return f"{len(api_results)} API calls ok; model {model}"

    api_results = call_partner_api.expand(endpoint=PARTNER_ENDPOINTS)
    model = train_model(engineer_features.expand(partition=PARTITIONS))
    publish_report(api_results, model)


pools_priorities()
