"""The provider metadata and the plugin registration."""

from __future__ import annotations

from airflow_platform.provider_info import get_provider_info


def test_provider_info_lists_the_package():
    info = get_provider_info()
    assert info["package-name"] == "airflow-platform"
    assert "airflow_platform.notifiers.slack.PlatformSlackNotifier" in info["notifications"]
    modules = {m for entry in info["triggers"] for m in entry["python-modules"]}
    assert {"airflow_platform.triggers.kubeflow", "airflow_platform.triggers.data_quality"} <= modules


def test_provider_info_matches_airflow_schema():
    import json
    from importlib import resources

    import jsonschema

    schema = json.loads(resources.files("airflow").joinpath("provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_plugin_is_an_airflow_plugin():
    from airflow.plugins_manager import AirflowPlugin

    from airflow_platform.plugin import AirflowPlatformPlugin

    assert issubclass(AirflowPlatformPlugin, AirflowPlugin)
    assert AirflowPlatformPlugin.name == "airflow_platform"
