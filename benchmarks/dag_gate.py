"""Benchmark: dag-check against Airflow's own serial DagBag load, on the same generated folder.

    uv run python benchmarks/dag_gate.py --n 100 1000 [3000] [--cli]

For each N, the script generates N valid DAG files (10 tasks each: task groups and a mapped task) and
byte-compiles them, then times, each in a fresh interpreter that has imported Airflow under the
production settings before the clock starts: (1) ``DagBag(dag_folder)``, Airflow's serial load of the
folder (with the same cluster policies), and (2) the gate: discovery, warm-up, the parallel workers
and every check. ``--cli`` also times ``dag-check`` end to end (including its own Airflow import).
Target: gate wall <= 0.8 x DagBag wall at N = 1000.
"""

from __future__ import annotations

import argparse
import compileall
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TARGET_RATIO = 0.8
DAG_TEMPLATE = '''"""Generated benchmark DAG {index}."""

from datetime import datetime

from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import DAG, TaskGroup, task

with DAG(
    dag_id="bench_{index:05d}",
    schedule="@daily",
    start_date=datetime(2026, 1, 1),
    catchup=False,
    tags=["benchmark"],
    default_args={{"owner": "benchmark", "retries": 2}},
):
    start = EmptyOperator(task_id="start")

    with TaskGroup("extract") as extract:

        @task(pool="api_calls")
        def list_partitions() -> list[int]:
            return [1, 2, 3]

        @task
        def extract_partition(partition: int) -> int:
            return partition

        partitions = extract_partition.expand(partition=list_partitions())

    with TaskGroup("transform"):

        @task(pool="cpu_intensive")
        def clean(values: list[int]) -> list[int]:
            return list(values)

        @task
        def enrich(values: list[int]) -> list[int]:
            return values

        @task
        def aggregate(values: list[int]) -> int:
            return sum(values)

        total = aggregate(enrich(clean(partitions)))
        total >> EmptyOperator(task_id="validate")

    @task(executor="KubernetesExecutor", pool="gpu_pool")
    def train(value: int) -> int:
        return value

    @task
    def publish(model: int) -> int:
        return model

    start >> extract
    publish(train(total)) >> EmptyOperator(task_id="end")
'''


def generate(folder: Path, count: int) -> None:
    """Write ``count`` valid DAG files into ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for index in range(count):
        (folder / f"bench_{index:05d}.py").write_text(DAG_TEMPLATE.format(index=index))


def measure(folder: Path, contender: str, jobs: int) -> dict[str, float | int]:
    """Time one contender on ``folder`` in this fresh interpreter, after the shared Airflow import."""
    from platform_tools.dag_check.environment import prepare_environment

    prepare_environment(None, None)
    started = time.monotonic()
    import airflow  # noqa: F401 - imported once, before the timed region, by both contenders

    import_seconds = time.monotonic() - started
    if contender == "dagbag":
        from airflow.dag_processing.dagbag import DagBag

        started = time.monotonic()
        bag = DagBag(dag_folder=str(folder))
        seconds = time.monotonic() - started
        if bag.import_errors:
            raise SystemExit(f"DagBag import errors: {list(bag.import_errors.items())[:2]}")
        return {"seconds": seconds, "dags": bag.size(), "import_seconds": import_seconds}

    from airflow_platform.platform_settings import load_platform_settings
    from platform_tools.dag_check.cli import discover
    from platform_tools.dag_check.runner import add_duplicate_dag_ids, run_checks, warm_up

    budget = load_platform_settings().dag_rules.parse_time_budget_seconds
    started = time.monotonic()
    files = discover([folder])
    warm_up(files)
    warmed = time.monotonic()
    results = run_checks(files, budget, jobs)
    add_duplicate_dag_ids(results, files)
    seconds = time.monotonic() - started
    failed = [result for result in results if not result.passed]
    if failed:
        raise SystemExit(f"the gate rejected generated files: {failed[0].problems[:3]}")
    return {
        "seconds": seconds,
        "warm_up_seconds": warmed - started,
        "dags": sum(len(result.dag_ids) for result in results),
        "tasks": sum(result.task_count for result in results),
        "import_seconds": import_seconds,
    }


def run_one(count: int, jobs: int, cli: bool) -> dict[str, float | int]:
    """Generate N files; time DagBag and the gate, each in a fresh interpreter; optionally the CLI."""
    with tempfile.TemporaryDirectory(prefix="dag-gate-bench-") as tmp:
        folder = Path(tmp) / "dags"
        generate(folder, count)
        compileall.compile_dir(folder, quiet=1)  # both contenders start with warm bytecode caches
        dagbag = _measure_in_subprocess(folder, "dagbag", jobs)
        gate = _measure_in_subprocess(folder, "gate", jobs)
        if dagbag["dags"] != count or gate["dags"] != count:
            raise SystemExit(f"expected {count} DAGs, DagBag {dagbag['dags']}, gate {gate['dags']}")
        cli_seconds = _time_cli(folder) if cli else float("nan")
    return {
        "n": count,
        "tasks": gate["tasks"],
        "dagbag_serial_s": round(dagbag["seconds"], 2),
        "dag_check_s": round(gate["seconds"], 2),
        "ratio": round(gate["seconds"] / dagbag["seconds"], 3),
        "warm_up_s": round(gate["warm_up_seconds"], 2),
        "dag_check_cli_s": round(cli_seconds, 2),
        "airflow_import_s": round(gate["import_seconds"], 2),
        "jobs": jobs,
    }


def _measure_in_subprocess(folder: Path, contender: str, jobs: int) -> dict[str, float | int]:
    command = [sys.executable, __file__, "--measure", contender, str(folder), "--jobs", str(jobs)]
    completed = subprocess.run(command, capture_output=True, text=True, check=False)
    if completed.returncode != 0:
        raise SystemExit(f"{contender} run failed: {completed.stdout[-2000:]} {completed.stderr[-2000:]}")
    return json.loads(completed.stdout.strip().splitlines()[-1])


def _time_cli(folder: Path) -> float:
    started = time.monotonic()
    completed = subprocess.run(
        [sys.executable, "-m", "platform_tools.dag_check", str(folder)], capture_output=True, check=False
    )
    if completed.returncode != 0:
        raise SystemExit(f"dag-check CLI failed: {completed.stdout[-2000:]!r}")
    return time.monotonic() - started


def print_table(rows: list[dict[str, float | int]]) -> None:
    """Print the measurements and the verdict against the target."""
    columns = [
        "n",
        "tasks",
        "dagbag_serial_s",
        "dag_check_s",
        "ratio",
        "warm_up_s",
        "dag_check_cli_s",
        "airflow_import_s",
        "jobs",
    ]
    widths = {column: max(len(column), *(len(str(row[column])) for row in rows)) for column in columns}
    print("  ".join(column.rjust(widths[column]) for column in columns))
    for row in rows:
        print("  ".join(str(row[column]).rjust(widths[column]) for column in columns))
    for row in rows:
        verdict = "meets" if row["ratio"] <= TARGET_RATIO else "misses"
        print(f"N={row['n']}: dag-check/DagBag = {row['ratio']:.2f} ({verdict} the <= {TARGET_RATIO} target)")


def main() -> int:
    """Run one fresh interpreter per N and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000])
    parser.add_argument("--jobs", type=int, default=len(os.sched_getaffinity(0)))
    parser.add_argument("--cli", action="store_true", help="also time the dag-check CLI end to end")
    parser.add_argument("--measure", nargs=2, metavar=("CONTENDER", "FOLDER"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        contender, folder = args.measure
        print(json.dumps(measure(Path(folder), contender, args.jobs)))
        return 0
    rows = []
    for count in args.n:
        rows.append(run_one(count, args.jobs, args.cli))
        print(f"measured N={count}: {rows[-1]}", file=sys.stderr, flush=True)
    print_table(rows)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
