"""The MLflow batchers: one paged search answers many triggers' calls; what is not found is left out."""

from __future__ import annotations

import asyncio

from airflow_platform.conditions.mlflow import model_stage_check, run_complete_check
from airflow_platform.hooks.mlflow_batches import ModelVersionsBatcher, RunsBatcher


class FakeMLflow:
    """Answers the MLflow search endpoints from lists, two items a page; records the requests."""

    service = "MLflow"

    def __init__(self, experiments, runs, versions=()):
        self.experiments = experiments
        self.runs = runs
        self.versions = list(versions)
        self.requests = []

    async def call(self, call):
        self.requests.append(call)
        request = dict(call.body or call.params)
        if call.path == "experiments/search":
            items, key = [{"experiment_id": e} for e in self.experiments], "experiments"
        elif call.path == "runs/search":
            wanted = request["filter"]
            items = [
                r
                for r in self.runs
                if r["info"]["experiment_id"] in request["experiment_ids"]
                and f"'{r['info']['run_id']}'" in wanted
            ]
            key = "runs"
        else:
            items = [v for v in self.versions if f"'{v['name']}'" in request["filter"]]
            key = "model_versions"
        start = int(request.get("page_token") or 0)
        page = {key: items[start : start + 2]}
        if start + 2 < len(items):
            page["next_page_token"] = str(start + 2)
        return page


def run(run_id, experiment_id, status="RUNNING"):
    return {"info": {"run_id": run_id, "experiment_id": experiment_id, "status": status}}


def first_call(check):
    return next(check)


def test_runs_are_read_with_one_paged_search_by_id():
    server = FakeMLflow(["1", "2"], [run("a", "1"), run("b", "2", "FINISHED"), run("c", "2")])
    batcher = RunsBatcher()
    calls = [first_call(run_complete_check(r)) for r in ("a", "b", "c", "ghost")]
    answers = asyncio.run(batcher.fetch(server, calls))
    assert answers[calls[1].key] == {"run": run("b", "2", "FINISHED")}
    assert set(answers) == {c.key for c in calls[:3]}  # the unknown run is left to a single call
    searches = [r for r in server.requests if r.path == "runs/search"]
    assert "attributes.run_id IN ('a', 'b', 'c', 'ghost')" in searches[0].body["filter"]
    assert searches[0].body["run_view_type"] == "ALL"

    server.requests.clear()
    again = asyncio.run(batcher.fetch(server, calls[:3]))
    assert len(again) == 3
    assert [r.path for r in server.requests] == ["runs/search", "runs/search"]  # two pages, known experiments
    assert server.requests[0].body["experiment_ids"] == ["1", "2"]


def test_a_run_in_a_new_experiment_refreshes_the_experiments():
    server = FakeMLflow(["1"], [run("a", "1")])
    batcher = RunsBatcher()
    first = first_call(run_complete_check("a"))
    asyncio.run(batcher.fetch(server, [first]))
    server.experiments.append("9")
    server.runs.append(run("n", "9"))
    server.requests.clear()
    newer = first_call(run_complete_check("n"))
    answers = asyncio.run(batcher.fetch(server, [first, newer]))
    assert answers[newer.key]["run"]["info"]["experiment_id"] == "9"
    assert [r.path for r in server.requests] == ["runs/search", "experiments/search", "runs/search"]


def test_model_versions_of_many_models_come_from_one_search():
    versions = [
        {"name": "m1", "version": "1", "current_stage": "Staging"},
        {"name": "m1", "version": "2", "current_stage": "None"},
        {"name": "m2", "version": "1", "current_stage": "Production"},
    ]
    server = FakeMLflow([], [], versions)
    one_version = first_call(model_stage_check("m1", "Staging", "1"))
    stage_check = model_stage_check("m2", "Production")
    next(stage_check)
    all_versions = stage_check.send({"registered_model": {}})
    missing = first_call(model_stage_check("m1", "Staging", "7"))
    answers = asyncio.run(ModelVersionsBatcher().fetch(server, [one_version, all_versions, missing]))
    assert answers[one_version.key] == {"model_version": versions[0]}
    assert answers[all_versions.key] == {"model_versions": [versions[2]]}
    assert missing.key not in answers
    assert {r.path for r in server.requests} == {"model-versions/search"}
    assert "name IN ('m1', 'm2')" in server.requests[0].params["filter"]
