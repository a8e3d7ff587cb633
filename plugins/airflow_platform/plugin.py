"""Registers the platform package with Airflow's plugin manager, so ``airflow plugins`` lists it.

Operators, sensors and hooks are imported from the package directly (Airflow 3 no longer injects them
through plugins); the plugin makes the package visible and is where UI or listener extensions go.
"""

from __future__ import annotations

from airflow.plugins_manager import AirflowPlugin


class AirflowPlatformPlugin(AirflowPlugin):
    """The platform plugin: MLflow, Kubeflow Pipelines, Great Expectations and alerting."""

    name = "airflow_platform"
