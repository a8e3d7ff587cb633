"""The deploy names the chart, version and images we render: ``pins`` matches the chart itself."""

from __future__ import annotations

from airflow_platform_ci import pins


def test_the_chart_name_is_the_official_one(chart) -> None:
    assert chart.metadata["name"] == pins.CHART_NAME


def test_the_chart_version_is_the_pinned_one(chart) -> None:
    assert chart.metadata["version"] == pins.CHART_VERSION


def test_the_chart_runs_airflow_3(chart) -> None:
    assert chart.metadata["appVersion"].startswith("3.")


def test_the_pinned_chart_images_are_the_charts_own(chart) -> None:
    defaults = chart.values["images"]
    runs = {key: f"{defaults[key]['repository']}:{defaults[key]['tag']}" for key in pins.CHART_IMAGES}
    assert runs == pins.CHART_IMAGES
