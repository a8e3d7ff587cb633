"""The DAG gate over dags/ and over the corpus of broken DAGs, and the same rules inside Airflow's DagBag.

The gate runs as a subprocess, once over dags/ and once over the whole corpus (both started at the
beginning of the session so they overlap with the in-process DagBag tests); each test then asserts on
its part of the output.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from platform_tools.dag_check.problems import RULES

REPO_ROOT = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).resolve().parent / "corpus"
CORPUS_BUDGET_SECONDS = 1.0
KILL_GRACE_SECONDS = 0.5

# Every corpus file and exactly the rules the gate must report for it (empty: the file passes).
EXPECTED_RULES = {
    "good_pipeline.py": set(),
    "good_decorated.py": set(),
    "good_isolation_a.py": set(),
    "bad_owner.py": {"OWNER"},
    "bad_retries.py": {"RETRIES"},
    "bad_tags.py": {"TAGS"},
    "bad_pool.py": {"POOL"},
    "bad_executor.py": {"EXECUTOR"},
    "bad_sla.py": {"SLA", "DEPRECATION"},
    "bad_deprecated_import.py": {"DEPRECATED-IMPORT", "DEPRECATION"},
    "bad_deprecation_warning.py": {"DEPRECATION"},
    "bad_syntax.py": {"SYNTAX"},
    "bad_import.py": {"IMPORT"},
    "bad_cycle.py": {"CYCLE"},
    "bad_schedule.py": {"SCHEDULE"},
    "bad_trigger_rule.py": {"TRIGGER-RULE"},
    "bad_variable_access.py": {"PARSE-ACCESS"},
    "bad_connection_access.py": {"PARSE-ACCESS"},
    "bad_slow.py": {"PARSE-BUDGET"},
    "bad_hang.py": {"PARSE-TIMEOUT"},
    "bad_crash.py": {"CRASH"},
    "bad_duplicate_dag_id_a.py": {"DUPLICATE-DAG-ID"},
    "bad_duplicate_dag_id_b.py": {"DUPLICATE-DAG-ID"},
    "bad_isolation_b.py": {"IMPORT"},
}
# The cluster-policy files: Airflow's own DagBag must reject them for the same rule.
POLICY_FILES = {
    "bad_owner.py": "OWNER",
    "bad_retries.py": "RETRIES",
    "bad_tags.py": "TAGS",
    "bad_pool.py": "POOL",
    "bad_executor.py": "EXECUTOR",
    "bad_sla.py": "SLA",
    "bad_deprecated_import.py": "DEPRECATED-IMPORT",
}
PROBLEM_LINE = re.compile(
    r"^(?P<path>[^:\s]+\.py):(?P<line>\d+): (?P<rule>[A-Z-]+) (?P<message>.+) \((?P<fix>.+)\)$"
)


class GateRun:
    """A dag-check subprocess started now and awaited on first use."""

    def __init__(self, *args: str):
        self.process = subprocess.Popen(
            [sys.executable, "-m", "platform_tools.dag_check", *args],
            cwd=REPO_ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self._result: tuple[int, str, str] | None = None

    def result(self) -> tuple[int, str, str]:
        """Return (exit code, stdout, stderr)."""
        if self._result is None:
            stdout, stderr = self.process.communicate(timeout=240)
            self._result = (self.process.returncode, stdout, stderr)
        return self._result


@pytest.fixture(scope="session")
def gate_runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    """Start the gate over dags/ and over the corpus, in parallel."""
    reports = tmp_path_factory.mktemp("gate-reports")
    runs = {
        "dags": GateRun("dags", "--fork-per-file", "--serialize"),
        "corpus": GateRun(
            str(CORPUS.relative_to(REPO_ROOT)),
            "--budget",
            str(CORPUS_BUDGET_SECONDS),
            "--json",
            str(reports / "corpus.json"),
            "--junit-xml",
            str(reports / "corpus.xml"),
        ),
        "reports": reports,
    }
    yield runs
    for run in runs.values():
        if isinstance(run, GateRun) and run.process.poll() is None:
            run.process.kill()


@pytest.fixture(scope="session")
def corpus_report(gate_runs: dict[str, object]) -> dict[str, dict]:
    """The corpus run's JSON report, by file name."""
    gate_runs["corpus"].result()
    document = json.loads((gate_runs["reports"] / "corpus.json").read_text())
    by_name = {Path(entry["path"]).name: entry for entry in document["files"]}
    return by_name | {"<summary>": document["summary"]}


def _airflow_dagbag():
    from airflow.dag_processing.dagbag import DagBag

    return DagBag


def test_gates_started(gate_runs: dict[str, object]) -> None:
    """Starts both gate runs first, so they overlap with the in-process DagBag tests below."""
    assert gate_runs["corpus"].process.pid > 0


@pytest.mark.parametrize(("file_name", "rule_id"), sorted(POLICY_FILES.items()))
def test_airflow_dagbag_applies_the_same_policies(file_name: str, rule_id: str) -> None:
    dagbag_class = _airflow_dagbag()
    import airflow_local_settings

    expected_module = REPO_ROOT / "plugins" / "airflow_local_settings.py"
    assert Path(airflow_local_settings.__file__).resolve() == expected_module
    bag = dagbag_class(dag_folder=str(CORPUS / file_name))
    assert bag.dag_ids == []
    (error,) = bag.import_errors.values()
    if rule_id == "EXECUTOR":
        # Airflow's own executor check runs before the policies and rejects the task first.
        assert error.startswith("UnknownExecutorException: Task 'local_executor' specifies executor")
    else:
        assert error.startswith("DagRulesViolation: ")
        assert f"{rule_id} " in error


def test_airflow_task_policy_rejects_an_unconfigured_executor() -> None:
    _airflow_dagbag()
    from airflow import settings
    from airflow.exceptions import AirflowClusterPolicyViolation
    from airflow.providers.standard.operators.empty import EmptyOperator

    local = EmptyOperator(task_id="local", executor="LocalExecutor", owner="data-eng", retries=2)
    with pytest.raises(AirflowClusterPolicyViolation, match=r"^EXECUTOR task 'local' names executor"):
        settings.task_policy(local)


def test_airflow_dagbag_accepts_the_good_dag() -> None:
    bag = _airflow_dagbag()(dag_folder=str(CORPUS / "good_pipeline.py"))
    assert bag.import_errors == {}
    assert bag.dag_ids == ["corpus_good_pipeline"]


def test_a_serial_dagbag_leaks_state_the_gate_does_not() -> None:
    """Airflow's serial DagBag accepts bad_isolation_b.py after good_isolation_a.py; the gate does not."""
    bag = _airflow_dagbag()(dag_folder=str(CORPUS / "good_isolation_a.py"))
    bag.process_file(str(CORPUS / "bad_isolation_b.py"))
    assert bag.import_errors == {}
    assert sorted(bag.dag_ids) == ["corpus_isolation_a", "corpus_isolation_b"]


def test_gate_passes_the_dags_folder(gate_runs: dict[str, object]) -> None:
    code, stdout, stderr = gate_runs["dags"].result()
    assert code == 0, stdout + stderr
    assert re.search(r"^problems\s+0$", stdout, re.MULTILINE) or "no DAG files" in stdout


def test_every_corpus_file_has_an_expectation() -> None:
    assert {path.name for path in CORPUS.glob("*.py")} == set(EXPECTED_RULES)


@pytest.mark.parametrize(("file_name", "expected"), sorted(EXPECTED_RULES.items()))
def test_corpus_file_gets_exactly_its_rules(
    corpus_report: dict[str, dict], file_name: str, expected: set[str]
) -> None:
    entry = corpus_report[file_name]
    assert {problem["rule_id"] for problem in entry["problems"]} == expected, entry["problems"]
    assert entry["passed"] is (not expected)


def test_corpus_run_exits_1_and_prints_one_line_per_problem(
    gate_runs: dict[str, object], corpus_report: dict[str, dict]
) -> None:
    code, stdout, _stderr = gate_runs["corpus"].result()
    assert code == 1
    lines = [match for line in stdout.splitlines() if (match := PROBLEM_LINE.match(line))]
    assert len(lines) == corpus_report["<summary>"]["problems"]
    assert all(match["rule"] in RULES for match in lines)
    assert "tests/dags/corpus/bad_syntax.py:6: SYNTAX " in stdout
    access = "tests/dags/corpus/bad_variable_access.py:8: PARSE-ACCESS Variable.get('ml_accuracy_threshold')"
    assert access in stdout
    assert "tests/dags/corpus/bad_pool.py:15: POOL " in stdout
    assert re.search(r"^failed\s+21$", stdout, re.MULTILINE)


def test_hanging_file_is_killed_at_the_budget_and_the_rest_is_checked(corpus_report: dict[str, dict]) -> None:
    hang = corpus_report["bad_hang.py"]
    assert CORPUS_BUDGET_SECONDS <= hang["parse_seconds"] < CORPUS_BUDGET_SECONDS + KILL_GRACE_SECONDS + 1.0
    slow = corpus_report["bad_slow.py"]
    assert slow["problems"][0]["line"] == 7
    assert corpus_report["<summary>"]["files"] == len(EXPECTED_RULES)


def test_junit_report_has_one_case_per_file(
    gate_runs: dict[str, object], corpus_report: dict[str, dict]
) -> None:
    # The report is the gate's own output, written by this test run: trusted input.
    suite = ElementTree.parse(gate_runs["reports"] / "corpus.xml").getroot().find("testsuite")  # noqa: S314
    cases = suite.findall("testcase")
    assert len(cases) == len(EXPECTED_RULES)
    failed = {Path(case.get("name")).name for case in cases if case.find("failure") is not None}
    assert failed == {name for name, rules in EXPECTED_RULES.items() if rules}
    assert suite.get("failures") == str(len(failed))


def test_empty_folder_exits_0_with_no_dag_files(tmp_path: Path) -> None:
    report = tmp_path / "report.json"
    run = GateRun(str(tmp_path), "--json", str(report))
    code, stdout, _stderr = run.result()
    assert code == 0
    assert "no DAG files" in stdout
    assert json.loads(report.read_text())["summary"]["files"] == 0


def test_missing_path_exits_2_naming_the_path(tmp_path: Path) -> None:
    missing = tmp_path / "no-such-dags"
    code, _stdout, stderr = GateRun(str(missing)).result()
    assert code == 2
    assert str(missing) in stderr
