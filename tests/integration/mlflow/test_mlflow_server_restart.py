"""Fault test: the MLflow server stops while sensors wait on it and comes back; they succeed anyway.

It restarts the session's server, so it lives in the last module of this folder.
"""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from airflow_platform.sensors.mlflow import MLflowRunCompleteSensor

pytestmark = pytest.mark.faults


async def first_event(trigger):
    async for event in trigger.run():
        return event
    return None


def test_deferred_and_poking_sensors_survive_a_server_restart(
    mlflow_server, mlflow_conn, client, experiment_id, capsys
):
    run_id = client.create_run(experiment_id).info.run_id
    settings = {
        "run_id": run_id,
        "poke_interval": 0.5,
        "timeout": 300,
        "backoff_initial": 0.5,
        "backoff_max": 2.0,
    }
    deferred = MLflowRunCompleteSensor(task_id="deferred", deferrable=True, **settings)
    poking = MLflowRunCompleteSensor(task_id="poking", deferrable=False, **settings)
    poke_result: dict = {}
    poke_thread = threading.Thread(target=lambda: poke_result.update(value=poking.execute(context={})))

    async def scenario():
        waiter = asyncio.create_task(first_event(deferred.build_trigger()))
        poke_thread.start()
        await asyncio.sleep(1.0)
        await asyncio.to_thread(mlflow_server.stop)
        assert mlflow_server.is_down()
        await asyncio.sleep(3.0)  # both sensors meet refused connections here
        assert not waiter.done()
        restart_seconds = await asyncio.to_thread(mlflow_server.start)
        await asyncio.to_thread(client.set_terminated, run_id, "FINISHED")
        finished = time.monotonic()
        event = await asyncio.wait_for(waiter, 60)
        return event, restart_seconds, time.monotonic() - finished

    event, restart_seconds, latency = asyncio.run(scenario())
    poke_thread.join(60)
    assert event.payload["status"] == "success", event.payload
    assert deferred.execute_complete(context={}, event=event.payload)["run_status"] == "FINISHED"
    assert poke_result["value"]["run_status"] == "FINISHED"
    output = "".join(capsys.readouterr())
    assert "Transient MLflow error" in output
    assert mlflow_conn.token not in output
    print(f"server restart took {restart_seconds:.1f}s; trigger fired {latency:.2f}s after the run finished")
