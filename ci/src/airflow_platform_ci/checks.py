"""Run the project commands of :mod:`airflow_platform_ci.commands` in containers and collect results."""

import time
from collections.abc import Sequence
from dataclasses import dataclass

import anyio
import dagger

from airflow_platform_ci.commands import ProjectCommand
from airflow_platform_ci.summary import StepResult


@dataclass(frozen=True)
class StepRun:
    """A finished step: its result and the container after the command (to read reports from)."""

    result: StepResult
    container: dagger.Container


async def run_command(container: dagger.Container, command: ProjectCommand) -> StepRun:
    """Run one command; a non-zero exit is a result, not an exception, so every step gets reported."""
    started = time.monotonic()
    ran = container.with_exec(list(command.argv), expect=dagger.ReturnType.ANY)
    exit_code = await ran.exit_code()
    output = await ran.combined_output()
    result = StepResult(command.function, command.step, exit_code, output, time.monotonic() - started)
    return StepRun(result, ran)


async def run_commands(container: dagger.Container, commands: Sequence[ProjectCommand]) -> list[StepRun]:
    """Run ``commands`` concurrently in copies of ``container``; results keep the table's order."""
    runs: dict[int, StepRun] = {}

    async def run(index: int, command: ProjectCommand) -> None:
        runs[index] = await run_command(container, command)

    async with anyio.create_task_group() as tasks:
        for index, command in enumerate(commands):
            tasks.start_soon(run, index, command)
    return [runs[index] for index in range(len(commands))]
