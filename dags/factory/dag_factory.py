"""Dynamic DAG factory: one ingestion DAG per entry of `dag_configs.yaml`.

Builds one ingestion DAG per entry of `dag_configs.yaml` (next to this file). Every generated DAG
extracts each configured table in a mapped task, checks the row counts and writes a manifest to the
data-lake bucket (`{{ var.value.data_lake_bucket }}`, connection `aws_default`).

The configuration is validated while the file is parsed: a mistake raises `DagConfigError`, whose
message names the YAML file and the offending key (for example `dags[1].schedule`), so the import error
shown by the DAG processor and by `dag-check` says exactly what to fix.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pendulum
import yaml
from airflow.sdk import DAG, task
from croniter import croniter

from airflow_platform.dag_defaults import default_args
from airflow_platform.platform_settings import load_platform_settings

CONFIG_PATH = Path(__file__).with_name("dag_configs.yaml")
# The DAG rules' thresholds (config/platform.yaml), the same the cluster policies enforce: the factory
# rejects an entry that the dag-processor would reject, with the entry's key in the message.
DAG_RULES = load_platform_settings().dag_rules

REQUIRED_KEYS = ("dag_id", "description", "schedule", "tables", "tags")
OPTIONAL_KEYS = {"owner": "data-platform", "retries": DAG_RULES.min_retries, "pool": "default_pool"}
SCHEDULE_PRESETS = {
    "@once",
    "@continuous",
    "@hourly",
    "@daily",
    "@weekly",
    "@monthly",
    "@quarterly",
    "@yearly",
}
NAME_PATTERN = re.compile(r"^[a-z][a-z0-9_]*$")


class DagConfigError(ValueError):
    """A generated DAG's configuration is invalid; the message names the file and the key."""

    def __init__(self, path: Path, key: str, problem: str):
        super().__init__(f"{path}: {key}: {problem}")
        self.path = path
        self.key = key


@dataclass(frozen=True)
class DagSpec:
    """The validated configuration of one generated DAG."""

    dag_id: str
    description: str
    schedule: str | None
    tables: tuple[str, ...]
    tags: tuple[str, ...]
    owner: str
    retries: int
    pool: str


def _names(path: Path, key: str, value: Any, *, pattern: re.Pattern[str] | None = None) -> tuple[str, ...]:
    """Return a non-empty list of unique non-empty strings as a tuple, or raise naming the key."""
    if not isinstance(value, list) or not value:
        raise DagConfigError(path, key, "must be a non-empty list of strings")
    for index, item in enumerate(value):
        if not isinstance(item, str) or not item or (pattern and not pattern.match(item)):
            expected = f"a string matching {pattern.pattern}" if pattern else "a non-empty string"
            raise DagConfigError(path, f"{key}[{index}]", f"must be {expected}, got {item!r}")
    if len(set(value)) != len(value):
        raise DagConfigError(path, key, "contains duplicates")
    return tuple(value)


def _validate_schedule(path: Path, key: str, value: Any) -> str | None:
    """Accept null, a preset or a valid cron expression."""
    if value is None or (isinstance(value, str) and value in SCHEDULE_PRESETS):
        return value
    if not isinstance(value, str) or not croniter.is_valid(value):
        raise DagConfigError(path, key, f"must be a cron expression, a preset or null, got {value!r}")
    return value


def _validate_entry(path: Path, key: str, entry: Any) -> DagSpec:
    """Validate one entry of the `dags` list."""
    if not isinstance(entry, dict):
        raise DagConfigError(path, key, "must be a mapping")
    unknown = sorted(set(entry) - set(REQUIRED_KEYS) - set(OPTIONAL_KEYS))
    if unknown:
        raise DagConfigError(
            path,
            f"{key}.{unknown[0]}",
            f"unknown key (allowed: {', '.join(REQUIRED_KEYS)}, {', '.join(OPTIONAL_KEYS)})",
        )
    for name in REQUIRED_KEYS:
        if name not in entry:
            raise DagConfigError(path, f"{key}.{name}", "is required")
    values = {**OPTIONAL_KEYS, **entry}
    dag_id, description, owner = values["dag_id"], values["description"], values["owner"]
    if not isinstance(dag_id, str) or not NAME_PATTERN.match(dag_id):
        raise DagConfigError(path, f"{key}.dag_id", f"must match {NAME_PATTERN.pattern}, got {dag_id!r}")
    if not isinstance(description, str) or not description.strip():
        raise DagConfigError(path, f"{key}.description", "must be a non-empty string")
    if not isinstance(owner, str) or not owner.strip() or owner in DAG_RULES.forbidden_owners:
        forbidden = ", ".join(repr(name) for name in DAG_RULES.forbidden_owners)
        problem = f"must be a team name other than {forbidden}, got {owner!r}"
        raise DagConfigError(path, f"{key}.owner", problem)
    retries = values["retries"]
    min_retries = DAG_RULES.min_retries
    if not isinstance(retries, int) or isinstance(retries, bool) or retries < min_retries:
        raise DagConfigError(path, f"{key}.retries", f"must be an integer >= {min_retries}, got {retries!r}")
    if not isinstance(values["pool"], str) or not values["pool"]:
        raise DagConfigError(path, f"{key}.pool", "must be a non-empty string")
    return DagSpec(
        dag_id=dag_id,
        description=description.strip(),
        schedule=_validate_schedule(path, f"{key}.schedule", values["schedule"]),
        tables=_names(path, f"{key}.tables", values["tables"], pattern=NAME_PATTERN),
        tags=_names(path, f"{key}.tags", values["tags"]),
        owner=owner,
        retries=retries,
        pool=values["pool"],
    )


def load_dag_configs(path: Path) -> list[DagSpec]:
    """Read and validate a factory configuration file.

    Args:
        path: The YAML file; its top level is a mapping with a non-empty `dags` list.

    Returns:
        One `DagSpec` per entry, in file order.

    Raises:
        DagConfigError: The file is unreadable or invalid; the message names the file and the key.
    """
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise DagConfigError(path, "<file>", f"cannot be read as YAML: {err}") from err
    if not isinstance(document, dict) or "dags" not in document:
        raise DagConfigError(path, "dags", "is required at the top level")
    unknown = sorted(set(document) - {"dags"})
    if unknown:
        raise DagConfigError(path, unknown[0], "unknown top-level key (allowed: dags)")
    if not isinstance(document["dags"], list) or not document["dags"]:
        raise DagConfigError(path, "dags", "must be a non-empty list")
    specs = [_validate_entry(path, f"dags[{index}]", entry) for index, entry in enumerate(document["dags"])]
    seen: set[str] = set()
    for index, spec in enumerate(specs):
        if spec.dag_id in seen:
            raise DagConfigError(path, f"dags[{index}].dag_id", f"duplicate dag_id {spec.dag_id!r}")
        seen.add(spec.dag_id)
    return specs


@task
def extract_table(table: str, run_id: str | None = None) -> dict:
    """Extract one table: a deterministic row count stands in for the copied rows."""
    import random

    # Synthetic, reproducible sample data: not a security use of random.
    rows = random.Random(f"{table}:{run_id}").randint(10, 500)  # noqa: S311
    return {"table": table, "rows": rows}


@task
def check_row_counts(extracts: list[dict]) -> list[dict]:
    """Fail when a table came back empty."""
    empty = [item["table"] for item in extracts if item["rows"] <= 0]
    if empty:
        raise ValueError(f"empty tables: {', '.join(empty)}")
    return list(extracts)


@task
def write_manifest(extracts: list[dict], bucket: str, dag_id: str, run_id: str | None = None) -> str:
    """Write the run's manifest (tables and row counts) to S3 through `aws_default`."""
    import json

    from airflow.providers.amazon.aws.hooks.s3 import S3Hook

    key = f"factory/{dag_id}/{re.sub(r'[^A-Za-z0-9_.-]', '_', run_id or 'manual')}/manifest.json"
    S3Hook(aws_conn_id="aws_default").load_string(
        json.dumps({"dag_id": dag_id, "tables": extracts}, sort_keys=True),
        key=key,
        bucket_name=bucket,
        replace=True,
    )
    return f"s3://{bucket}/{key}"


def build_dag(spec: DagSpec) -> DAG:
    """Build the ingestion DAG that one configuration entry describes."""
    with DAG(
        dag_id=spec.dag_id,
        description=spec.description,
        schedule=spec.schedule,
        start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
        catchup=False,
        tags=list(spec.tags),
        doc_md=__doc__,
        default_args=default_args(spec.owner, retries=spec.retries, pool=spec.pool),
    ) as generated:
        extracts = extract_table.expand(table=list(spec.tables))
        write_manifest(
            check_row_counts(extracts), bucket="{{ var.value.data_lake_bucket }}", dag_id=spec.dag_id
        )
    return generated


# DAGs built inside a `with DAG(...)` block register themselves with the DagBag.
for _spec in load_dag_configs(CONFIG_PATH):
    build_dag(_spec)
