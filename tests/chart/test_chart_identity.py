"""The deploy names the chart and version we render: ``pins`` matches the chart's Chart.yaml."""

from __future__ import annotations

from airflow_platform_ci import pins


def test_the_chart_name_is_the_official_one(chart) -> None:
    assert chart.metadata["name"] == pins.CHART_NAME


def test_the_chart_version_is_the_pinned_one(chart) -> None:
    assert chart.metadata["version"] == pins.CHART_VERSION


def test_the_chart_runs_airflow_3(chart) -> None:
    assert chart.metadata["appVersion"].startswith("3.")
