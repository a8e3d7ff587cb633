"""Batchers of the MLflow REST API: many waiting triggers' calls answered by one paged search.

- ``runs/get`` of many runs: one ``runs/search`` with ``attributes.run_id IN (...)`` per 1000 runs.
  ``runs/search`` needs experiment ids: those of runs seen before are remembered; for a run not seen
  yet, every experiment (``experiments/search``, paged, refreshed when a run is not found) is searched.
- ``model-versions/get`` and the versions of a model: one ``model-versions/search`` with
  ``name IN (...)`` for all models.

A call a batcher cannot answer (an unknown run or version, a name it cannot quote) is left to the
poller, which sends it as it is, so its error names the object as a single call would. Registered
models (aliases) have no batch read in the API (``registered-models/search`` filters by one name and
model versions carry no aliases): equal calls are only sent once per poll.
"""

from __future__ import annotations

import re
from collections.abc import Hashable, Iterable
from typing import Any

from airflow_platform.polling.poller import AsyncCaller
from airflow_platform.utils.http import ApiCall

PAGE_SIZE = 1000
_RUN_ID = re.compile(r"^[0-9A-Za-z_-]+$")


def _quoted(values: Iterable[str]) -> str:
    return ", ".join(f"'{value}'" for value in values)


def _chunks(values: list[str], size: int = PAGE_SIZE) -> Iterable[list[str]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def search_all(
    caller: AsyncCaller, method: str, path: str, request: dict[str, Any], items: str
) -> list[dict[str, Any]]:
    """Return every item of a paged MLflow search (``page_token`` / ``next_page_token``)."""
    found: list[dict[str, Any]] = []
    token = None
    while True:
        page = {**request, "page_token": token} if token else request
        in_body = method == "POST"
        answer = await caller.call(
            ApiCall(
                method,
                path,
                f"search {path}",
                params=None if in_body else page,
                body=page if in_body else None,
            )
        )
        found.extend(answer.get(items, []))
        token = answer.get("next_page_token")
        if not token:
            return found


class RunsBatcher:
    """Answers ``runs/get`` calls (batch ``("run", run_id)``) with ``runs/search`` by run id."""

    kind = "run"

    def __init__(self) -> None:
        self._experiment_of: dict[str, str] = {}
        self._experiment_ids: set[str] | None = None

    async def fetch(self, caller: AsyncCaller, calls: list[ApiCall]) -> dict[Hashable, Any]:
        """Return ``{call.key: {"run": run}}`` for the runs found."""
        by_id = {call.batch[1]: call for call in calls if call.batch and _RUN_ID.match(call.batch[1])}
        ids = sorted(by_id)
        unknown = [run_id for run_id in ids if run_id not in self._experiment_of]
        refreshed = False
        if unknown and self._experiment_ids is None:
            await self._refresh_experiments(caller)
            refreshed = True
        searched = {self._experiment_of[run_id] for run_id in ids if run_id in self._experiment_of}
        if unknown:
            searched |= self._experiment_ids or set()
        found = await self._search(caller, searched, ids)
        missing = [run_id for run_id in ids if run_id not in found]
        if missing and not refreshed:
            await self._refresh_experiments(caller)
            found.update(await self._search(caller, (self._experiment_ids or set()) - searched, missing))
        self._forget_all_but(ids)
        return {by_id[run_id].key: {"run": run} for run_id, run in found.items()}

    async def _refresh_experiments(self, caller: AsyncCaller) -> None:
        request = {"max_results": PAGE_SIZE, "view_type": "ALL"}
        experiments = await search_all(caller, "POST", "experiments/search", request, "experiments")
        self._experiment_ids = {e["experiment_id"] for e in experiments}

    async def _search(self, caller: AsyncCaller, experiments: set[str], ids: list[str]) -> dict[str, Any]:
        found: dict[str, Any] = {}
        if not experiments or not ids:
            return found
        for chunk in _chunks(ids):
            request = {
                "experiment_ids": sorted(experiments),
                "filter": f"attributes.run_id IN ({_quoted(chunk)})",
                "run_view_type": "ALL",
                "max_results": PAGE_SIZE,
            }
            for run in await search_all(caller, "POST", "runs/search", request, "runs"):
                info = run["info"]
                self._experiment_of[info["run_id"]] = info["experiment_id"]
                found[info["run_id"]] = run
        return found

    def _forget_all_but(self, ids: list[str]) -> None:
        """Keep the experiment of runs still waited on, so that the memory stays bounded."""
        if len(self._experiment_of) > 2 * len(ids) + PAGE_SIZE:
            wanted = set(ids)
            self._experiment_of = {r: e for r, e in self._experiment_of.items() if r in wanted}


class ModelVersionsBatcher:
    """Answers ``model-versions/get`` and by-name ``model-versions/search`` calls with one search by names.

    Batch keys: ``("model_versions", name)`` for all versions of a model, ``("model_versions", name,
    version)`` for one version.
    """

    kind = "model_versions"

    async def fetch(self, caller: AsyncCaller, calls: list[ApiCall]) -> dict[Hashable, Any]:
        """Return ``{call.key: answer}`` shaped as the single call's answer, for what was found."""
        names = sorted({call.batch[1] for call in calls if call.batch and "'" not in call.batch[1]})
        by_name: dict[str, list[dict[str, Any]]] = {name: [] for name in names}
        for chunk in _chunks(names):
            request = {"filter": f"name IN ({_quoted(chunk)})", "max_results": PAGE_SIZE}
            for version in await search_all(
                caller, "GET", "model-versions/search", request, "model_versions"
            ):
                by_name.setdefault(version["name"], []).append(version)
        answers: dict[Hashable, Any] = {}
        for call in calls:
            versions = by_name.get(call.batch[1]) if call.batch else None
            if versions is None:
                continue
            if len(call.batch) == 2:
                answers[call.key] = {"model_versions": versions}
                continue
            match = [v for v in versions if str(v["version"]) == call.batch[2]]
            if match:
                answers[call.key] = {"model_version": match[0]}
        return answers


def mlflow_batchers() -> tuple[RunsBatcher, ModelVersionsBatcher]:
    """Fresh batchers for one MLflow poller."""
    return RunsBatcher(), ModelVersionsBatcher()
