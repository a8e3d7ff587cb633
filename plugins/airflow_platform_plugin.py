"""Register the platform's AirflowPlugin; ``.airflowignore`` keeps the loader out of the package itself."""

from airflow_platform.plugin import AirflowPlatformPlugin

__all__ = ["AirflowPlatformPlugin"]
