"""Enterprise ML pipeline: quality-gated data, GPU training tracked in MLflow, gated deployment.

A weekly churn model, end to end:

1. **land_customer_snapshot** - stands in for the CRM export: writes this run's customer snapshot to
   the warehouse table `public.ml_customer_snapshot` (connection `postgres_warehouse`).
2. **wait_for_quality_data** - `DataQualitySensor`: at least `{{ var.value.data_quality_min_rows }}`
   rows, the required columns, no null labels.
3. **extract** - one mapped task per customer segment copies its rows to the data lake
   (`{{ var.value.data_lake_bucket }}`, connection `aws_default`); `build_training_set` splits them
   into train and test files.
4. **train** - `train_model` runs on the KubernetesExecutor in a GPU pod (`gpu_pool`), fits a linear
   classifier with numpy least squares and logs params and the pyfunc model to an MLflow run
   (connection `mlflow_default`); `evaluate_model` scores it on the test set and
   `MLflowLogMetricsOperator` records the metrics on the same run.
5. **choose_deployment** - deploy when accuracy reaches `{{ var.value.ml_accuracy_threshold }}`,
   otherwise the model is rejected (`below_threshold`, then `reject_model`).
6. **deploy** - `MLflowRegisterModelOperator` registers the version as `challenger`,
   `ModelPerformanceSensor` confirms the experiment meets the threshold on the tracking server; where
   the variable `model_approval_required` is true (set per environment), a person of the
   `ModelApprover` role approves or rejects the promotion (`approve_champion`, human-in-the-loop:
   the task waits in `awaiting_input`; a rejection, or no answer within a day, ends in
   `reject_model`); `MLflowModelTransitionOperator` moves the `champion` alias to it,
   `MLflowLoadModelOperator` loads `models:/<name>@champion` and predicts on sample rows, and
   `publish_champion` updates the champion-model asset, which schedules `churn_batch_scoring`.
7. **notify_outcome** - runs after whichever path ran (`none_failed_min_one_success`) and posts the
   outcome to Slack (connection `slack_alerts`), a rejection with who rejected it.

Assets: `build_training_set` updates `enterprise_churn_training_set` (the train and test files in the
data lake, named in the event's extra) and `publish_champion` updates
`enterprise_churn_classifier_champion` (`models:/enterprise_churn_classifier@champion`).
"""

from __future__ import annotations

from datetime import timedelta

# Top-level `airflow.*` imports are pre-imported once by the dag-processor's parent process
# ([dag_processor] parsing_pre_import_modules) and inherited by every parse. The provider's pod_generator
# imports the Kubernetes models, so the import below makes `kubernetes.client` free for each parse of this
# file instead of costing seconds.
import airflow.providers.cncf.kubernetes.pod_generator  # noqa: F401
import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, Metadata, TriggerRule, Variable, dag, get_current_context, task, task_group

from airflow_platform.dag_defaults import default_args
from airflow_platform.operators.approval import ANSWER_KEY, RecordedApprovalOperator
from airflow_platform.operators.mlflow import (
    MLflowLoadModelOperator,
    MLflowLogMetricsOperator,
    MLflowModelTransitionOperator,
    MLflowRegisterModelOperator,
)
from airflow_platform.pod_overrides import gpu_pod_override
from airflow_platform.sensors.data_quality import DataQualitySensor
from airflow_platform.sensors.mlflow import ModelPerformanceSensor

EXPERIMENT = "enterprise-churn"
MODEL_NAME = "enterprise_churn_classifier"
SNAPSHOT_TABLE = "public.ml_customer_snapshot"
SEGMENTS = ["enterprise", "mid_market", "smb"]
FEATURES = ["usage_hours", "tenure_months", "support_tickets"]
LABEL = "churned"
ROWS_PER_SEGMENT = 200
TEST_SHARE = 0.2
# Training runs in a GPU pod. Where no cluster exists (the end-to-end tests, `platform-dev`), the
# executor alias KubernetesExecutor is configured to a Celery executor instead; this DAG stays as is.
TRAINING_EXECUTOR = "KubernetesExecutor"
TRAIN_RUN_ID = "{{ ti.xcom_pull(task_ids='train.train_model')['run_id'] }}"
REGISTERED_VERSION = "{{ ti.xcom_pull(task_ids='deploy.register_model')['version'] }}"
APPROVER_ROLE = "ModelApprover"
"""The role whose members may answer the approval (helm/webserver_config.py defines it)."""
APPROVAL_TIMEOUT = timedelta(days=1)
TRAINING_SET = Asset(
    name="enterprise_churn_training_set", uri="data-lake://ml/enterprise-churn/training-set", group="ml"
)
"""The train and test files; the data lake's bucket differs per environment, so the event names them."""
CHAMPION_MODEL = Asset(
    name="enterprise_churn_classifier_champion",
    uri=f"models:/{MODEL_NAME}@champion",
    group="ml",
)
"""The registered model's ``champion`` alias (the tracking server is the ``mlflow_default`` connection)."""


def _run_key(run_id: str | None) -> str:
    """Return the run id as a string safe for S3 keys and SQL values."""
    import re

    return re.sub(r"[^A-Za-z0-9_.-]", "_", run_id or "manual")


def _read_csv(bucket: str, key: str) -> list[dict]:
    """Read a CSV object from the data lake as a list of rows."""
    import csv
    import io

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    body = S3Hook(aws_conn_id="aws_default").read_key(key=key, bucket_name=bucket)
    return list(csv.DictReader(io.StringIO(body)))


def _write_csv(bucket: str, key: str, rows: list[dict]) -> str:
    """Write rows as a CSV object to the data lake and return its key."""
    import csv
    import io

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=["segment", *FEATURES, LABEL])
    writer.writeheader()
    writer.writerows(rows)
    S3Hook(aws_conn_id="aws_default").load_string(
        buffer.getvalue(), key=key, bucket_name=bucket, replace=True
    )
    return key


def _matrix(rows: list[dict]):
    """Return the feature matrix (with an intercept column) and the labels as numpy arrays."""
    import numpy as np

    features = np.array([[float(row[name]) for name in FEATURES] for row in rows])
    labels = np.array([float(row[LABEL]) for row in rows])
    return np.column_stack([features, np.ones(len(rows))]), labels


DEFAULT_ARGS = default_args(
    "ml-platform", retry_delay=timedelta(minutes=1), max_retry_delay=timedelta(minutes=15)
)


@dag(
    dag_id="enterprise_ml_pipeline",
    schedule="0 4 * * 1",
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    max_active_runs=1,
    default_args=DEFAULT_ARGS,
    tags=["ml-platform", "mlflow", "enterprise"],
    doc_md=__doc__,
)
def enterprise_ml_pipeline():
    """Train, evaluate, gate and deploy the churn model."""

    @task
    def land_customer_snapshot(run_id: str | None = None) -> int:
        """Write this run's synthetic customer snapshot to the warehouse (stands in for the CRM export)."""
        import random

        from airflow.providers.postgres.hooks.postgres import PostgresHook

        snapshot = _run_key(run_id)
        # Synthetic, reproducible sample data: not a security use of random.
        rng = random.Random(snapshot)  # noqa: S311
        rows = []
        for segment in SEGMENTS:
            for _ in range(ROWS_PER_SEGMENT):
                usage, tenure, tickets = rng.uniform(0, 40), rng.uniform(0, 60), rng.randint(0, 6)
                risk = 2.0 - 0.12 * usage - 0.05 * tenure + 0.7 * tickets + rng.gauss(0, 0.4)
                rows.append((snapshot, segment, round(usage, 3), round(tenure, 3), tickets, int(risk > 0)))
        hook = PostgresHook(postgres_conn_id="postgres_warehouse")
        hook.run(
            [
                f"CREATE TABLE IF NOT EXISTS {SNAPSHOT_TABLE} ("
                "snapshot_id text NOT NULL, segment text NOT NULL, usage_hours double precision, "
                "tenure_months double precision, support_tickets integer, churned integer)",
                # The table name is a module constant; the values are bound parameters.
                f"DELETE FROM {SNAPSHOT_TABLE} WHERE snapshot_id = %(snapshot)s",  # noqa: S608
            ],
            parameters={"snapshot": snapshot},
        )
        hook.insert_rows(
            SNAPSHOT_TABLE, rows, target_fields=["snapshot_id", "segment", *FEATURES, LABEL], commit_every=500
        )
        return len(rows)

    wait_for_quality_data = DataQualitySensor(
        task_id="wait_for_quality_data",
        table=SNAPSHOT_TABLE,
        conn_id="postgres_warehouse",
        min_rows="{{ var.value.data_quality_min_rows }}",
        required_columns=["snapshot_id", "segment", *FEATURES, LABEL],
        max_null_share={LABEL: 0.0},
        mode="reschedule",
        poke_interval=60,
        timeout=int(timedelta(hours=2).total_seconds()),
    )

    @task_group(group_id="extract")
    def extract(quality_gate):
        """Copy each segment's snapshot rows to the data lake (after the quality gate), then split them."""

        @task
        def extract_segment(segment: str, bucket: str, run_id: str | None = None) -> dict:
            """Copy one segment's rows of this run's snapshot from the warehouse to the data lake."""
            from airflow.providers.postgres.hooks.postgres import PostgresHook

            snapshot = _run_key(run_id)
            records = PostgresHook(postgres_conn_id="postgres_warehouse").get_records(
                f"SELECT segment, {', '.join(FEATURES)}, {LABEL} FROM {SNAPSHOT_TABLE} "  # noqa: S608
                "WHERE snapshot_id = %(snapshot)s AND segment = %(segment)s",
                parameters={"snapshot": snapshot, "segment": segment},
            )
            if not records:
                raise ValueError(f"no rows for segment {segment!r} in snapshot {snapshot!r}")
            rows = [dict(zip(["segment", *FEATURES, LABEL], record, strict=True)) for record in records]
            key = _write_csv(bucket, f"ml/{EXPERIMENT}/{snapshot}/segments/{segment}.csv", rows)
            return {"segment": segment, "key": key, "rows": len(rows)}

        @task(pool="cpu_intensive", outlets=[TRAINING_SET])
        def build_training_set(segments: list[dict], bucket: str, run_id: str | None = None) -> dict:
            """Merge the segments, shuffle deterministically and split into train and test files."""
            import random

            snapshot = _run_key(run_id)
            rows = [row for item in segments for row in _read_csv(bucket, item["key"])]
            # Synthetic, reproducible sample data: not a security use of random.
            random.Random(snapshot).shuffle(rows)  # noqa: S311
            cut = int(len(rows) * (1 - TEST_SHARE))
            prefix = f"ml/{EXPERIMENT}/{snapshot}"
            dataset = {
                "bucket": bucket,
                "train_key": _write_csv(bucket, f"{prefix}/train.csv", rows[:cut]),
                "test_key": _write_csv(bucket, f"{prefix}/test.csv", rows[cut:]),
                "train_rows": cut,
                "test_rows": len(rows) - cut,
            }
            get_current_context()["outlet_events"][TRAINING_SET].extra = {
                "snapshot_id": snapshot,
                "train": f"s3://{bucket}/{dataset['train_key']}",
                "test": f"s3://{bucket}/{dataset['test_key']}",
                "rows": len(rows),
            }
            return dataset

        segments = extract_segment.partial(bucket="{{ var.value.data_lake_bucket }}").expand(segment=SEGMENTS)
        quality_gate >> segments
        return build_training_set(segments, bucket="{{ var.value.data_lake_bucket }}")

    @task_group(group_id="train")
    def train(dataset):
        """Fit on a GPU pod with MLflow tracking, evaluate on the test set, record the metrics."""

        @task(
            pool="gpu_pool",
            executor=TRAINING_EXECUTOR,
            executor_config=gpu_pod_override(cpu="2", cpu_limit="4", memory="4Gi", memory_limit="8Gi"),
            execution_timeout=timedelta(hours=1),
        )
        def train_model(dataset: dict, run_id: str | None = None) -> dict:
            """Fit a least-squares linear classifier and log params and the pyfunc model to MLflow."""
            import tempfile

            import mlflow.pyfunc
            import numpy as np
            from mlflow.models import ModelSignature
            from mlflow.types import ColSpec, Schema

            from airflow_platform.hooks.mlflow import MLflowHook

            design, labels = _matrix(_read_csv(dataset["bucket"], dataset["train_key"]))
            weights, *_ = np.linalg.lstsq(design, labels, rcond=None)

            class ChurnModel(mlflow.pyfunc.PythonModel):
                """Linear churn score; a score of 0.5 or more predicts churn."""

                def __init__(self, weights: list[float]):
                    self.weights = weights

                def predict(self, context, model_input, params=None):
                    """Return `churn_score` and the predicted `churned` label per input row."""
                    import numpy as np

                    inputs = np.column_stack(
                        [model_input[name].to_numpy(dtype=float) for name in FEATURES]
                        + [np.ones(len(model_input))]
                    )
                    score = inputs @ np.array(self.weights)
                    return model_input.assign(churn_score=score, churned=(score >= 0.5).astype("int64"))[
                        ["churn_score", "churned"]
                    ]

            client = MLflowHook().get_conn()
            experiment = client.get_experiment_by_name(EXPERIMENT)
            experiment_id = experiment.experiment_id if experiment else client.create_experiment(EXPERIMENT)
            mlflow_run = client.create_run(experiment_id, run_name=f"train-{_run_key(run_id)}")
            mlflow_run_id = mlflow_run.info.run_id
            for name, value in {
                "algorithm": "least_squares_linear_classifier",
                "features": ",".join(FEATURES),
                "train_rows": dataset["train_rows"],
                "airflow_run_id": run_id,
            }.items():
                client.log_param(mlflow_run_id, name, value)
            signature = ModelSignature(
                inputs=Schema([ColSpec("double", name) for name in FEATURES]),
                outputs=Schema([ColSpec("double", "churn_score"), ColSpec("long", "churned")]),
            )
            with tempfile.TemporaryDirectory() as tmp:
                mlflow.pyfunc.save_model(
                    f"{tmp}/model",
                    python_model=ChurnModel([float(w) for w in weights]),
                    signature=signature,
                    pip_requirements=[],
                )
                client.log_artifacts(mlflow_run_id, f"{tmp}/model", "model")
            client.set_terminated(mlflow_run_id, status="FINISHED")
            return {"run_id": mlflow_run_id, "weights": [float(w) for w in weights]}

        @task(pool="cpu_intensive")
        def evaluate_model(model: dict, dataset: dict) -> dict:
            """Score the model on the test set: accuracy, precision and recall."""
            import numpy as np

            design, labels = _matrix(_read_csv(dataset["bucket"], dataset["test_key"]))
            predicted = (design @ np.array(model["weights"]) >= 0.5).astype(float)
            true_positive = float(((predicted == 1) & (labels == 1)).sum())
            return {
                "accuracy": round(float((predicted == labels).mean()), 4),
                "precision": round(true_positive / max(float(predicted.sum()), 1.0), 4),
                "recall": round(true_positive / max(float(labels.sum()), 1.0), 4),
                "test_rows": float(len(labels)),
            }

        model = train_model(dataset)
        metrics = evaluate_model(model, dataset)
        log_metrics = MLflowLogMetricsOperator(
            task_id="log_metrics",
            run_id=TRAIN_RUN_ID,
            metrics={
                name: f"{{{{ ti.xcom_pull(task_ids='train.evaluate_model')['{name}'] }}}}"
                for name in ("accuracy", "precision", "recall", "test_rows")
            },
        )
        metrics >> log_metrics
        return metrics, log_metrics

    @task.branch
    def choose_deployment(metrics: dict) -> str:
        """Deploy when the accuracy reaches the `ml_accuracy_threshold` variable, else reject."""
        threshold = float(Variable.get("ml_accuracy_threshold", default="0.85"))
        return "deploy.register_model" if metrics["accuracy"] >= threshold else "below_threshold"

    # A branch skips its unchosen direct downstream tasks at once, so each branch leads to reject_model
    # through a task of its own: reject_model then runs after whichever of them ran.
    below_threshold = EmptyOperator(task_id="below_threshold")

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def reject_model(metrics: dict) -> str:
        """Record why the model was not deployed (not a failure: the champion stays in place)."""
        context = get_current_context()
        answer = context["ti"].xcom_pull(task_ids="deploy.approve_champion", key=ANSWER_KEY)
        if not answer:
            threshold = Variable.get("ml_accuracy_threshold", default="0.85")
            return f"rejected: accuracy {metrics['accuracy']} below threshold {threshold}"
        approver = (answer.get("responded_by_user") or {}).get("name")
        if approver:
            return f"rejected by {approver} at the approval of {MODEL_NAME}"
        return f"rejected: nobody approved {MODEL_NAME} within {APPROVAL_TIMEOUT}"

    @task_group(group_id="deploy")
    def deploy():
        """Register the model, confirm its performance on the tracking server, promote and smoke-test it."""
        register_model = MLflowRegisterModelOperator(
            task_id="register_model",
            model_uri=f"runs:/{TRAIN_RUN_ID}/model",
            model_name=MODEL_NAME,
            alias="challenger",
            tags={"trained_by": "enterprise_ml_pipeline"},
        )
        verify_performance = ModelPerformanceSensor(
            task_id="verify_performance",
            experiment_name=EXPERIMENT,
            metric="accuracy",
            threshold="{{ var.value.ml_accuracy_threshold }}",
            comparison=">=",
            mode="reschedule",
            poke_interval=30,
            timeout=int(timedelta(minutes=30).total_seconds()),
        )

        @task.branch
        def needs_approval() -> str:
            """Ask a person where the `model_approval_required` variable says so (set per environment)."""
            required = Variable.get("model_approval_required", default="true").strip().lower() == "true"
            return "deploy.approve_champion" if required else "deploy.approval_not_required"

        approve_champion = RecordedApprovalOperator(
            task_id="approve_champion",
            subject=f"Promote {MODEL_NAME} version {REGISTERED_VERSION} to champion?",
            body=(
                f"Accuracy {{{{ ti.xcom_pull(task_ids='train.evaluate_model')['accuracy'] }}}} "
                f"(threshold {{{{ var.value.ml_accuracy_threshold }}}}) on run {TRAIN_RUN_ID}. "
                f"Only the {APPROVER_ROLE} role may answer."
            ),
            options=["Approve", "Reject"],
            options_mapping={"Approve": "deploy.promote_champion", "Reject": "reject_model"},
            defaults="Reject",
            response_timeout=APPROVAL_TIMEOUT,
        )
        approval_not_required = EmptyOperator(task_id="approval_not_required")
        promote_champion = MLflowModelTransitionOperator(
            task_id="promote_champion",
            model_name=MODEL_NAME,
            version=REGISTERED_VERSION,
            alias="champion",
            trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS,
        )
        smoke_test_champion = MLflowLoadModelOperator(
            task_id="smoke_test_champion",
            model_name=MODEL_NAME,
            alias="champion",
            expected_inputs=FEATURES,
            expected_outputs=["churn_score", "churned"],
            sample_input=[
                {"usage_hours": 35.0, "tenure_months": 48.0, "support_tickets": 0.0},
                {"usage_hours": 2.0, "tenure_months": 3.0, "support_tickets": 5.0},
            ],
        )

        @task(outlets=[CHAMPION_MODEL])
        def publish_champion(run_id: str | None = None):
            """Update the champion-model asset: the version now behind the alias, and this run's snapshot."""
            loaded = get_current_context()["ti"].xcom_pull(task_ids="deploy.smoke_test_champion")
            yield Metadata(
                CHAMPION_MODEL,
                {
                    "model_uri": loaded["model_uri"],
                    "version": loaded["version"],
                    "snapshot_id": _run_key(run_id),
                },
            )

        gate = needs_approval()
        register_model >> verify_performance >> gate >> [approve_champion, approval_not_required]
        [approve_champion, approval_not_required] >> promote_champion
        promote_champion >> smoke_test_champion >> publish_champion()
        return register_model, smoke_test_champion, approve_champion

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def notify_outcome(metrics: dict) -> str:
        """Post the outcome (deployed version or rejection) to Slack."""
        from airflow_platform.notifiers import slack_notifier

        context = get_current_context()
        ti = context["ti"]
        deployed = ti.xcom_pull(task_ids="deploy.smoke_test_champion")
        if deployed:
            outcome = f"deployed {MODEL_NAME} version {deployed['version']} as champion"
        else:
            outcome = ti.xcom_pull(task_ids="reject_model") or "no deployment"
        message = f"enterprise_ml_pipeline: {outcome} (accuracy {metrics['accuracy']})"
        slack_notifier(text=message)(context)
        return message

    land_customer_snapshot() >> wait_for_quality_data
    dataset = extract(wait_for_quality_data)
    metrics, log_metrics = train(dataset)
    branch = choose_deployment(metrics)
    log_metrics >> branch
    register_model, smoke_test_champion, approve_champion = deploy()
    rejected = reject_model(metrics)
    branch >> [register_model, below_threshold]
    [below_threshold, approve_champion] >> rejected
    [smoke_test_champion, rejected] >> notify_outcome(metrics)


enterprise_ml_pipeline()
