"""Benchmark: N deferred MLflowRunCompleteSensor triggers in one event loop against a real MLflow server.

Each sensor's trigger is built, serialised and rebuilt from its classpath and kwargs, as the triggerer
does, and waits on its own run; the runs finish at random times. Reported: the wall time from the last
run finishing to the last trigger firing, each trigger's latency (fire time - its run's finish time)
against the target of 2 poll intervals, the loop process's peak RSS (``resource.getrusage``), and the
REST requests per second the triggers sent. Requests are counted by a wrapper this benchmark installs
around httpx's asynchronous transport; the benchmark's own requests (creating and finishing runs) carry
a marker header and are not counted.

Target: every trigger fires within 2 poll intervals of its run finishing, peak RSS < 400 MB, and at
most 2 requests/s to MLflow.

    uv run python benchmarks/mlflow_triggers.py --triggers 1000     # starts PostgreSQL, S3, MLflow
    uv run python benchmarks/mlflow_triggers.py --tracking-uri http://127.0.0.1:5000

Without ``--tracking-uri`` it starts the same services as the test fixtures (platform_devkit.loopback).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import resource
import secrets
import statistics
import sys
import tempfile
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path
from urllib.parse import urlsplit

REPO_ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("AIRFLOW_HOME", tempfile.mkdtemp(prefix="airflow-home-bench-"))
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
sys.path.insert(0, str(REPO_ROOT / "plugins"))
sys.path.insert(0, str(REPO_ROOT / "src"))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--tracking-uri", help="use this running MLflow server instead of starting one")
    parser.add_argument("--triggers", type=int, default=200)
    parser.add_argument("--poll-interval", type=float, default=5.0)
    parser.add_argument("--min-finish", type=float, default=5.0, help="earliest run finish (s after start)")
    parser.add_argument("--max-finish", type=float, default=60.0, help="latest run finish (s after start)")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the results here")
    return parser.parse_args()


def start_services(stack: ExitStack) -> str:
    from platform_devkit.loopback.mlflow import start_mlflow
    from platform_devkit.loopback.postgres import start_postgres
    from platform_devkit.loopback.s3 import start_s3

    postgres = start_postgres()
    stack.callback(postgres.stop)
    s3 = start_s3()
    stack.callback(s3.stop)
    started = time.monotonic()
    mlflow = start_mlflow(postgres, s3)
    stack.callback(mlflow.close)
    print(f"MLflow server up at {mlflow.tracking_uri} in {time.monotonic() - started:.1f}s", flush=True)
    return mlflow.tracking_uri


def set_connection(tracking_uri: str) -> None:
    parts = urlsplit(tracking_uri)
    conn = {
        "conn_type": "http",
        "host": parts.hostname,
        "port": parts.port,
        "password": secrets.token_hex(16),
    }
    os.environ["AIRFLOW_CONN_MLFLOW_DEFAULT"] = json.dumps(conn)


DRIVER_HEADER = "X-Benchmark-Driver"


def count_trigger_requests() -> tuple[list[float], list[str]]:
    """Wrap httpx's async transport: record the duration and path of every request not marked as ours."""
    import httpx

    durations: list[float] = []
    paths: list[str] = []
    original = httpx.AsyncHTTPTransport.handle_async_request

    async def counted(self, request):
        if DRIVER_HEADER in request.headers:
            return await original(self, request)
        began = time.monotonic()
        try:
            return await original(self, request)
        finally:
            durations.append(time.monotonic() - began)
            paths.append(request.url.path.rsplit("/mlflow/", 1)[-1])

    httpx.AsyncHTTPTransport.handle_async_request = counted  # type: ignore[method-assign]
    return durations, paths


def deferred_trigger(run_id: str, poll_interval: float):
    """The trigger a deferred sensor hands to the triggerer, rebuilt from its serialised form."""
    from airflow.sdk.module_loading import import_string

    from airflow_platform.sensors.mlflow import MLflowRunCompleteSensor

    sensor = MLflowRunCompleteSensor(task_id=f"wait_{run_id}", run_id=run_id, poke_interval=poll_interval)
    classpath, kwargs = sensor.build_trigger().serialize()
    # As the triggerer does: import the serialised classpath, then call it with the serialised kwargs.
    return import_string(classpath)(**kwargs)


async def run_benchmark(args: argparse.Namespace, tracking_uri: str) -> dict:
    import httpx

    request_seconds, request_paths = count_trigger_requests()
    api = f"{tracking_uri}/api/2.0/mlflow"
    rng = random.Random(args.seed)
    limits = httpx.Limits(keepalive_expiry=2.0)
    headers = {DRIVER_HEADER: "1"}
    async with httpx.AsyncClient(base_url=api, timeout=60, limits=limits, headers=headers) as http:
        experiment = await http.post("experiments/create", json={"name": f"bench-{secrets.token_hex(4)}"})
        experiment_id = experiment.raise_for_status().json()["experiment_id"]
        creating = asyncio.Semaphore(8)

        async def create_run() -> str:
            async with creating:
                created = await http.post("runs/create", json={"experiment_id": experiment_id})
            return created.raise_for_status().json()["run"]["info"]["run_id"]

        run_ids = list(await asyncio.gather(*(create_run() for _ in range(args.triggers))))
        print(f"created {len(run_ids)} runs", flush=True)
        triggers = {run_id: deferred_trigger(run_id, args.poll_interval) for run_id in run_ids}

        finished_at: dict[str, float] = {}
        fired_at: dict[str, float] = {}
        statuses: dict[str, str] = {}

        async def wait(run_id: str) -> None:
            async for event in triggers[run_id].run():
                fired_at[run_id] = time.monotonic()
                statuses[run_id] = event.payload["status"]
                return

        async def finish(run_id: str, delay: float) -> None:
            await asyncio.sleep(delay)
            for attempt in range(3):
                try:
                    response = await http.post("runs/update", json={"run_id": run_id, "status": "FINISHED"})
                    break
                except httpx.TransportError:
                    if attempt == 2:
                        raise
            response.raise_for_status()
            finished_at[run_id] = time.monotonic()

        delays = {run_id: rng.uniform(args.min_finish, args.max_finish) for run_id in run_ids}
        started = time.monotonic()
        waiters = [asyncio.create_task(wait(run_id)) for run_id in run_ids]
        finishers = [asyncio.create_task(finish(run_id, delays[run_id])) for run_id in run_ids]
        await asyncio.gather(*finishers)
        await asyncio.wait_for(asyncio.gather(*waiters), timeout=args.max_finish + 20 * args.poll_interval)
        ended = time.monotonic()

    latencies = sorted(fired_at[r] - finished_at[r] for r in run_ids)
    target = 2 * args.poll_interval
    sent = len(request_seconds)
    return {
        "triggers": args.triggers,
        "poll_interval_s": args.poll_interval,
        "all_success": all(s == "success" for s in statuses.values()) and len(statuses) == len(run_ids),
        "last_finish_to_last_fire_s": round(max(fired_at.values()) - max(finished_at.values()), 3),
        "latency_p50_s": round(statistics.median(latencies), 3),
        "latency_p95_s": round(latencies[int(0.95 * (len(latencies) - 1))], 3),
        "latency_max_s": round(latencies[-1], 3),
        "within_two_poll_intervals": sum(lat <= target for lat in latencies),
        "request_p50_s": round(statistics.median(request_seconds), 3) if request_seconds else None,
        "request_max_s": round(max(request_seconds), 3) if request_seconds else None,
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "requests_sent": sent,
        "requests_by_path": dict(Counter(request_paths)),
        "requests_per_s": round(sent / (ended - started), 2),
        "duration_s": round(ended - started, 1),
    }


def main() -> int:
    args = parse_args()
    with ExitStack() as stack:
        tracking_uri = args.tracking_uri.rstrip("/") if args.tracking_uri else start_services(stack)
        set_connection(tracking_uri)
        results = asyncio.run(run_benchmark(args, tracking_uri))
    print(json.dumps(results, indent=2))
    if args.json:
        args.json.write_text(json.dumps(results, indent=2) + "\n")
    ok = (
        results["all_success"]
        and results["within_two_poll_intervals"] == results["triggers"]
        and results["peak_rss_mb"] < 400
        and results["requests_per_s"] <= 2
    )
    print(
        "target met"
        if ok
        else "target NOT met: all fire within 2 poll intervals, < 400 MB RSS, <= 2 requests/s"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
