"""Results of pipeline steps: concurrent execution, aggregation and the summary table.

Pure logic on top of ``anyio``: no Dagger import, unit-tested in ``tests/ci``.
"""

import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass

import anyio

OUTPUT_TAIL_LINES = 40
"""How many trailing output lines of a failed step the report shows."""


@dataclass(frozen=True)
class StepResult:
    """The outcome of one step.

    Attributes:
        function: The Dagger function the step belongs to.
        step: The step's name (see :data:`airflow_platform_ci.commands.COMMANDS`).
        exit_code: The command's exit code; ``-1`` when the step could not run at all.
        output: Combined stdout and stderr (or the error that kept the step from running).
        seconds: Wall time of the step.
    """

    function: str
    step: str
    exit_code: int
    output: str
    seconds: float

    @property
    def passed(self) -> bool:
        """Whether the step succeeded."""
        return self.exit_code == 0


class StepsFailedError(Exception):
    """One or more steps failed; the message is the full summary with the failures' output."""


StepGroup = Callable[[], Awaitable[Sequence[StepResult]]]
"""A coroutine function that runs the steps of one Dagger function and returns their results."""


async def gather_steps(groups: Mapping[str, StepGroup]) -> list[StepResult]:
    """Run every group concurrently; a group that raises becomes one failed result, not a cancellation.

    Args:
        groups: Dagger function name -> coroutine function running that function's steps.

    Returns:
        All results, grouped in the order of ``groups``.
    """
    collected: dict[str, Sequence[StepResult]] = {}

    async def run(function: str, group: StepGroup) -> None:
        started = time.monotonic()
        try:
            collected[function] = await group()
        except Exception as error:  # every failure is reported; none hides the others
            message = f"{type(error).__name__}: {error}"
            collected[function] = [StepResult(function, function, -1, message, time.monotonic() - started)]

    async with anyio.create_task_group() as tasks:
        for function, group in groups.items():
            tasks.start_soon(run, function, group)
    return [result for function in groups for result in collected[function]]


def render_table(results: Iterable[StepResult]) -> str:
    """Render a Markdown table: function, step, result, exit code, seconds."""
    lines = ["| function | step | result | exit code | seconds |", "| --- | --- | --- | ---: | ---: |"]
    for result in results:
        status = "pass" if result.passed else "FAIL"
        lines.append(
            f"| {result.function} | {result.step} | {status} | {result.exit_code} | {result.seconds:.1f} |"
        )
    return "\n".join(lines)


def tail(text: str, lines: int = OUTPUT_TAIL_LINES) -> str:
    """Return the last ``lines`` lines of ``text``."""
    return "\n".join(text.rstrip().splitlines()[-lines:])


def render_report(results: Sequence[StepResult]) -> str:
    """Render the summary table, a verdict line, and the output tail of each failed step."""
    failed = [result for result in results if not result.passed]
    parts = [render_table(results), "", f"{len(results) - len(failed)} passed, {len(failed)} failed"]
    for result in failed:
        heading = f"### {result.function} / {result.step} (exit {result.exit_code})"
        parts += ["", heading, "```", tail(result.output), "```"]
    return "\n".join(parts)


def ensure_passed(results: Sequence[StepResult]) -> str:
    """Return the report when every step passed.

    Raises:
        StepsFailedError: at least one step failed (or there was no step at all); carries the report.
    """
    report = render_report(results)
    if not results or not all(result.passed for result in results):
        raise StepsFailedError(report)
    return report
