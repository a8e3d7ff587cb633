"""Errors of the chart tooling; each message says what is wrong and where."""

from __future__ import annotations


class ChartError(Exception):
    """Base class of every refusal of :mod:`platform_devkit.chart`."""


class ChartUsageError(ChartError):
    """A command line or an input the chart tooling does not interpret."""


class ChartUnavailableError(ChartError):
    """The chart could be found neither where the environment says nor on the network."""


class ValuesSchemaError(ChartError):
    """Release values that the chart's ``values.schema.json`` rejects.

    Attributes:
        problems: One ``"<key.path>: <message>"`` line per violation.
    """

    def __init__(self, chart: str, problems: list[str]) -> None:
        self.problems = problems
        super().__init__(f"values rejected by the schema of chart {chart}:\n" + "\n".join(problems))
