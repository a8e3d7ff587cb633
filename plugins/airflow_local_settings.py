"""Airflow cluster policies: the platform's DAG rules, enforced by every dag-processor.

Airflow imports this module from the plugins folder (``settings.import_local_settings``) and registers
``dag_policy`` and ``task_policy`` with its pluggy policy manager; ``DagBag.bag_dag`` calls them for
every DAG it loads and records an import error when they raise ``AirflowClusterPolicyViolation``.
The CI gate (``dag-check``) calls the same hooks through the same manager, so CI and production
reject the same DAGs. Thresholds, executors and pools come from ``config/platform.yaml``.

Rules (rule id, what it checks):

- ``OWNER``: every task has an owner, and not one of ``dag_rules.forbidden_owners``;
- ``RETRIES``: every task retries at least ``dag_rules.min_retries`` times;
- ``TAGS``: every DAG has at least ``dag_rules.min_tags`` tags;
- ``POOL``: tasks use only pools declared in ``pools``;
- ``EXECUTOR``: tasks name only executors listed in ``executors``;
- ``SLA``: no SLA arguments (``sla``, ``sla_miss_callback``; removed in Airflow 3, use ``DeadlineAlert``);
- ``DEPRECATED-IMPORT``: the DAG file imports Airflow only from ``airflow.sdk`` and ``airflow.providers``.

Every Airflow process imports this module before its plugins, so it is also where an OpenLineage
endpoint (``OPENLINEAGE_URL``, see helm/SECRETS.md) gets the platform's HTTP transport
(:func:`airflow_platform.lineage_settings.tune_openlineage_transport`); without one, nothing changes.
"""

from __future__ import annotations

import ast
import functools
import os
from dataclasses import dataclass
from typing import Any

from airflow.exceptions import AirflowClusterPolicyViolation

from airflow_platform.lineage_settings import tune_openlineage_transport
from airflow_platform.platform_settings import PlatformSettings, load_platform_settings

# Only the policy hooks are handed to Airflow: import_local_settings copies every other public name
# of this module into airflow.settings.
__all__ = ["dag_policy", "task_policy"]

tune_openlineage_transport()

ALLOWED_AIRFLOW_PACKAGES = ("airflow.sdk", "airflow.providers")
SLA_ARGUMENTS = frozenset({"sla", "sla_miss_callback"})
LEGACY_IMPORT_FIXES = {
    "airflow.operators": "import operators from the providers, e.g. airflow.providers.standard.operators",
    "airflow.sensors": "import sensors from the providers, e.g. airflow.providers.standard.sensors",
    "airflow.hooks": "use airflow.sdk.BaseHook or the provider's hook",
    "airflow.decorators": "use airflow.sdk (dag, task, task_group, setup, teardown)",
    "airflow.models": "use airflow.sdk (DAG, BaseOperator, Param, Variable, Connection)",
    "airflow.utils": "use airflow.sdk (TaskGroup, TriggerRule, Label, chain, timezone)",
    "airflow.datasets": "use airflow.sdk.Asset",
    "airflow.timetables": "use the timetables exported by airflow.sdk",
    "airflow.exceptions": "use airflow.sdk.exceptions",
    "airflow.triggers": "use airflow.providers.standard.triggers",
    "airflow.notifications": "use airflow.sdk.BaseNotifier",
    "airflow.io": "use airflow.sdk.ObjectStoragePath",
}


@dataclass(frozen=True)
class RuleViolation:
    """One broken rule, with the fix; ``line`` is set when the rule found it in the source."""

    rule_id: str
    message: str
    fix: str
    dag_id: str | None = None
    task_id: str | None = None
    line: int | None = None

    def __str__(self) -> str:
        where = f" (line {self.line})" if self.line else ""
        return f"{self.rule_id} {self.message}{where} ({self.fix})"


class DagRulesViolation(AirflowClusterPolicyViolation):
    """All the rules a DAG or a task breaks, raised at once so the author sees every problem."""

    def __init__(self, violations: list[RuleViolation]):
        self.violations = tuple(violations)
        super().__init__("; ".join(str(violation) for violation in violations))


def dag_policy(dag: Any) -> None:
    """Reject a DAG that breaks a DAG-level rule (tags, SLA arguments, deprecated import paths).

    Raises:
        DagRulesViolation: The DAG breaks at least one rule.
    """
    if violations := dag_violations(dag):
        raise DagRulesViolation(violations)


def task_policy(task: Any) -> None:
    """Reject a task that breaks a task-level rule (owner, retries, pool, executor).

    Raises:
        DagRulesViolation: The task breaks at least one rule.
    """
    if violations := task_violations(task):
        raise DagRulesViolation(violations)


@functools.cache
def platform_settings() -> PlatformSettings:
    """Return the platform settings the rules use (read once per process)."""
    return load_platform_settings()


def dag_violations(dag: Any) -> list[RuleViolation]:
    """Return the DAG-level rules ``dag`` breaks."""
    rules = platform_settings().dag_rules
    dag_id = dag.dag_id
    violations = []
    if len(dag.tags or ()) < rules.min_tags:
        violations.append(
            RuleViolation(
                "TAGS",
                f"DAG '{dag_id}' has {len(dag.tags or ())} tag(s), at least {rules.min_tags} required",
                "pass tags=[...] to the DAG",
                dag_id=dag_id,
            )
        )
    source = _scan_source(dag.fileloc)
    sla_lines = source.sla_lines if source else ()
    if not sla_lines and (
        getattr(dag, "sla_miss_callback", None) is not None or "sla" in (dag.default_args or {})
    ):
        sla_lines = (None,)
    violations.extend(
        RuleViolation(
            "SLA",
            f"DAG '{dag_id}' uses an SLA argument, removed in Airflow 3",
            "use deadline=DeadlineAlert(...) from airflow.sdk",
            dag_id=dag_id,
            line=line,
        )
        for line in sla_lines
    )
    for module, line in source.legacy_imports if source else ():
        violations.append(
            RuleViolation(
                "DEPRECATED-IMPORT",
                f"DAG file imports '{module}', a legacy or internal Airflow import path",
                _legacy_import_fix(module),
                dag_id=dag_id,
                line=line,
            )
        )
    return violations


def task_violations(task: Any) -> list[RuleViolation]:
    """Return the task-level rules ``task`` breaks."""
    settings = platform_settings()
    rules = settings.dag_rules
    dag_id = _dag_id_of(task)
    task_id = task.task_id
    violations = []
    owner = (task.owner or "").strip()
    if not owner or owner.lower() in {name.lower() for name in rules.forbidden_owners}:
        violations.append(
            RuleViolation(
                "OWNER",
                f"task '{task_id}' has owner {owner!r}",
                "set default_args={'owner': '<team>'} on the DAG",
                dag_id=dag_id,
                task_id=task_id,
            )
        )
    if task.retries is None or task.retries < rules.min_retries:
        violations.append(
            RuleViolation(
                "RETRIES",
                f"task '{task_id}' has retries={task.retries}, at least {rules.min_retries} required",
                f"set retries >= {rules.min_retries} in default_args or on the task",
                dag_id=dag_id,
                task_id=task_id,
            )
        )
    if task.pool not in settings.pool_names:
        violations.append(
            RuleViolation(
                "POOL",
                f"task '{task_id}' uses undeclared pool '{task.pool}'",
                f"use one of {sorted(settings.pool_names)} or declare the pool in config/platform.yaml",
                dag_id=dag_id,
                task_id=task_id,
            )
        )
    if task.executor is not None and task.executor not in settings.executors:
        violations.append(
            RuleViolation(
                "EXECUTOR",
                f"task '{task_id}' names executor '{task.executor}', which is not configured",
                f"use one of {list(settings.executors)} or leave executor unset",
                dag_id=dag_id,
                task_id=task_id,
            )
        )
    return violations


def _dag_id_of(task: Any) -> str | None:
    try:
        return task.dag.dag_id
    except RuntimeError:  # the task is not assigned to a DAG yet
        return None


@dataclass(frozen=True)
class _SourceFindings:
    legacy_imports: tuple[tuple[str, int], ...]
    sla_lines: tuple[int, ...]


def _scan_source(fileloc: str | None) -> _SourceFindings | None:
    if not fileloc or not os.path.isfile(fileloc):
        return None
    stat = os.stat(fileloc)
    return _scan_source_cached(fileloc, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _scan_source_cached(fileloc: str, _mtime_ns: int, _size: int) -> _SourceFindings | None:
    try:
        with open(fileloc, "rb") as source:
            tree = ast.parse(source.read(), filename=fileloc)
    except (OSError, SyntaxError, ValueError):
        return None
    legacy_imports = []
    sla_lines = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            legacy_imports.extend((alias.name, node.lineno) for alias in node.names if _is_legacy(alias.name))
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "airflow":
                legacy_imports.extend(
                    (f"airflow.{alias.name}", node.lineno)
                    for alias in node.names
                    if _is_legacy(f"airflow.{alias.name}")
                )
            elif _is_legacy(node.module):
                legacy_imports.append((node.module, node.lineno))
        elif isinstance(node, ast.Call):
            sla_lines.extend(keyword.lineno for keyword in node.keywords if keyword.arg in SLA_ARGUMENTS)
        elif isinstance(node, ast.Dict):
            sla_lines.extend(
                key.lineno
                for key in node.keys
                if isinstance(key, ast.Constant) and key.value in SLA_ARGUMENTS
            )
    return _SourceFindings(tuple(sorted(set(legacy_imports))), tuple(sorted(set(sla_lines))))


def _is_legacy(module: str) -> bool:
    if module != "airflow" and not module.startswith("airflow."):
        return False
    return not any(
        module == allowed or module.startswith(f"{allowed}.") for allowed in ALLOWED_AIRFLOW_PACKAGES
    )


def _legacy_import_fix(module: str) -> str:
    for prefix, fix in LEGACY_IMPORT_FIXES.items():
        if module == prefix or module.startswith(f"{prefix}."):
            return fix
    return "import Airflow APIs from airflow.sdk or a provider package"
