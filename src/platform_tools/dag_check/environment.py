"""Prepare the production Airflow settings for the gate, before Airflow is imported."""

from __future__ import annotations

import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

LOCAL_SETTINGS_MODULE = "airflow_local_settings"


class GateSetupError(RuntimeError):
    """The gate cannot establish the production settings (a usage error, exit code 2)."""


@dataclass(frozen=True)
class GateEnvironment:
    """Where the gate found the policies and the platform settings."""

    plugins_folder: Path
    settings_file: Path


def find_plugins_folder(start: Path) -> Path | None:
    """Return the nearest ``plugins/`` holding ``airflow_local_settings.py``, from ``start`` upwards."""
    for folder in (start, *start.parents):
        candidate = folder / "plugins"
        if (candidate / f"{LOCAL_SETTINGS_MODULE}.py").is_file():
            return candidate
    return None


def prepare_environment(plugins_folder: Path | None, settings_file: Path | None) -> GateEnvironment:
    """Set the production settings in ``os.environ`` and ``sys.path``; call before importing Airflow.

    The executors come from the platform settings file (the same list the cluster policies allow),
    examples are off, the plugins folder is the one holding our ``airflow_local_settings.py`` (so Airflow
    itself registers the cluster policies), and no metadata database is touched: pools come from the
    settings file.

    Raises:
        GateSetupError: The plugins folder or the settings file cannot be found.
    """
    plugins = plugins_folder or find_plugins_folder(Path.cwd()) or find_plugins_folder(Path(__file__))
    if plugins is None or not (plugins / f"{LOCAL_SETTINGS_MODULE}.py").is_file():
        raise GateSetupError(f"no {LOCAL_SETTINGS_MODULE}.py found in plugins folder {plugins}")
    plugins = plugins.resolve()
    settings = settings_file or _default_settings_file(plugins)
    if not settings.is_file():
        raise GateSetupError(f"platform settings file not found: {settings}")
    settings = settings.resolve()
    os.environ["PLATFORM_SETTINGS_FILE"] = str(settings)

    if str(plugins) in sys.path:
        sys.path.remove(str(plugins))
    sys.path.insert(0, str(plugins))
    from airflow_platform.platform_settings import load_platform_settings

    platform = load_platform_settings(settings)
    os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="dag-check-airflow-home-")
    os.environ.update(
        {
            "AIRFLOW__CORE__EXECUTOR": ",".join(platform.executors),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(plugins),
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
    )
    return GateEnvironment(plugins_folder=plugins, settings_file=settings)


def _default_settings_file(plugins: Path) -> Path:
    if override := os.environ.get("PLATFORM_SETTINGS_FILE"):
        return Path(override)
    return plugins.parent / "config" / "platform.yaml"


def verify_policies_loaded(environment: GateEnvironment) -> None:
    """Check that Airflow registered the cluster policies of our plugins folder.

    Raises:
        GateSetupError: Airflow loaded no ``airflow_local_settings`` or another one.
    """
    module = sys.modules.get(LOCAL_SETTINGS_MODULE)
    module_file = getattr(module, "__file__", None)
    if module_file is None or Path(module_file).resolve().parent != environment.plugins_folder:
        raise GateSetupError(
            f"Airflow did not load the cluster policies from {environment.plugins_folder} "
            f"(loaded: {module_file})"
        )
    from airflow.settings import get_policy_plugin_manager

    hooks = get_policy_plugin_manager().hook
    if not hooks.dag_policy.get_hookimpls() or not hooks.task_policy.get_hookimpls():
        raise GateSetupError("Airflow registered no dag_policy/task_policy hooks")
