"""The gate's data model: problems, per-file results and the catalogue of rule ids."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

# Rule id -> what it means. The first block is the cluster policies (plugins/airflow_local_settings.py),
# the second is what only the gate checks.
RULES = {
    "OWNER": "every task has an owner, and not a forbidden one such as 'airflow'",
    "RETRIES": "every task retries at least dag_rules.min_retries times",
    "TAGS": "every DAG has at least dag_rules.min_tags tags",
    "POOL": "tasks use only the pools declared in config/platform.yaml",
    "EXECUTOR": "tasks name only the executors configured in config/platform.yaml",
    "SLA": "no SLA arguments (removed in Airflow 3; use DeadlineAlert)",
    "DEPRECATED-IMPORT": "Airflow is imported only from airflow.sdk and airflow.providers",
    "POLICY": "another cluster policy rejected the DAG",
    "SYNTAX": "the file is valid Python",
    "IMPORT": "the file imports without raising",
    "CYCLE": "the task graph has no cycle",
    "SCHEDULE": "the schedule is a valid cron expression, preset, timedelta, timetable or asset",
    "TRIGGER-RULE": "every trigger rule is a known TriggerRule",
    "DAG-INVALID": "the DAG passes Airflow's own validation",
    "SERIALIZATION": "the DAG serializes, as the dag-processor must store it",
    "DEPRECATION": "parsing raises no deprecation warning",
    "PARSE-ACCESS": "parsing reads no Variable or Connection",
    "PARSE-BUDGET": "the file parses within the per-file parse-time budget",
    "PARSE-TIMEOUT": "the file's parse ends; a hanging parse is killed",
    "CRASH": "the parsing process exits normally",
    "DUPLICATE-DAG-ID": "each dag_id is defined by one file only",
}


@dataclass(frozen=True)
class Problem:
    """One problem found in one file; rendered as ``path:line: RULE-ID message (fix)``."""

    path: str
    line: int
    rule_id: str
    message: str
    fix: str

    def render(self) -> str:
        """Return the one-line form printed by the gate."""
        return f"{self.path}:{self.line}: {self.rule_id} {self.message} ({self.fix})"


@dataclass
class FileResult:
    """What checking one file produced."""

    path: str
    dag_ids: list[str] = field(default_factory=list)
    task_count: int = 0
    parse_seconds: float = 0.0
    problems: list[Problem] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        """Whether the file has no problem."""
        return not self.problems

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-ready mapping."""
        data = asdict(self)
        data["passed"] = self.passed
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FileResult:
        """Rebuild a result sent by a parsing process."""
        problems = [Problem(**problem) for problem in data.get("problems", [])]
        return cls(
            path=data["path"],
            dag_ids=list(data.get("dag_ids", [])),
            task_count=int(data.get("task_count", 0)),
            parse_seconds=float(data.get("parse_seconds", 0.0)),
            problems=problems,
        )
