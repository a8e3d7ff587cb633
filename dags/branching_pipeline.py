"""Branching with a tolerant join: choose a processing path per run, then continue whichever ran.

Scheduled on the `sales_daily` asset that `taskgroups_pipeline` updates. `measure_batch` sizes the
incoming batch; the branch task `choose_path` picks one path:

* `skip_empty` when there is nothing to do,
* `process_in_memory` for small batches,
* `process_in_chunks` for large ones (a mapped task per chunk, then `merge_chunks`).

The paths not taken are skipped. `join` uses the trigger rule `none_failed_min_one_success`: it runs
when at least one upstream succeeded and none failed, so skipped branches do not skip it (the default
`all_success` would). Trigger with the param `path` (`auto`, `empty`, `small`, `large`) to force a path.
"""

from __future__ import annotations

import pendulum
from airflow.providers.standard.operators.empty import EmptyOperator
from airflow.sdk import Asset, Label, Param, TriggerRule, dag, task

from airflow_platform.dag_defaults import default_args

SALES_DAILY = Asset(name="sales_daily")
LARGE_BATCH_ROWS = 1000
CHUNK_ROWS = 250
FORCED_SIZES = {"empty": 0, "small": 120, "large": 2600}


DEFAULT_ARGS = default_args("data-platform")


@dag(
    dag_id="branching_pipeline",
    schedule=[SALES_DAILY],
    start_date=pendulum.datetime(2026, 1, 1, tz="UTC"),
    catchup=False,
    default_args=DEFAULT_ARGS,
    params={"path": Param("auto", enum=["auto", "empty", "small", "large"], description="Force a path.")},
    tags=["data-platform", "branching"],
    doc_md=__doc__,
)
def branching_pipeline():
    """Branch on the batch size and join the paths with a tolerant trigger rule."""

    @task
    def measure_batch(params: dict | None = None, run_id: str | None = None) -> int:
        """Return the number of rows to process (forced by the `path` param, else derived from the run)."""
        import zlib

        forced = (params or {}).get("path", "auto")
        if forced in FORCED_SIZES:
            return FORCED_SIZES[forced]
        return zlib.crc32(str(run_id).encode()) % 3000

    @task.branch
    def choose_path(rows: int) -> str:
        """Return the task id of the path to run."""
        if rows == 0:
            return "skip_empty"
        if rows < LARGE_BATCH_ROWS:
            return "process_in_memory"
        return "plan_chunks"

    @task
    def process_in_memory(rows: int) -> int:
        """Process a small batch in one go: the sum of the row numbers."""
        return sum(range(rows))

    @task
    def plan_chunks(rows: int) -> list[list[int]]:
        """Split a large batch into [start, stop) chunks."""
        return [[start, min(start + CHUNK_ROWS, rows)] for start in range(0, rows, CHUNK_ROWS)]

    @task
    def process_chunk(bounds: list[int]) -> int:
        """Process one chunk (one mapped task instance per chunk)."""
        start, stop = bounds
        return sum(range(start, stop))

    @task
    def merge_chunks(partials: list[int]) -> int:
        """Combine the chunk results."""
        return sum(partials)

    @task(trigger_rule=TriggerRule.NONE_FAILED_MIN_ONE_SUCCESS)
    def join(rows: int) -> str:
        """Continue after whichever path ran; skipped paths do not skip this task."""
        return f"processed {rows} rows"

    rows = measure_batch()
    branch = choose_path(rows)

    skip_empty = EmptyOperator(task_id="skip_empty")
    in_memory = process_in_memory(rows)
    chunks = plan_chunks(rows)
    merged = merge_chunks(process_chunk.expand(bounds=chunks))
    joined = join(rows)

    branch >> Label("no rows") >> skip_empty >> joined
    branch >> Label("small batch") >> in_memory >> joined
    branch >> Label("large batch") >> chunks
    merged >> joined


branching_pipeline()
