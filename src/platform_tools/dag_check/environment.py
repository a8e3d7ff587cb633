"""Prepare the production Airflow settings for the gate, before Airflow is imported."""

from __future__ import annotations

import importlib.util
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
    """Where the gate found the cluster policies and the platform settings."""

    local_settings: Path
    settings_file: Path


def find_local_settings(plugins_folder: Path | None) -> Path:
    """Return the ``airflow_local_settings.py`` the gate loads, as Airflow will find it.

    With ``plugins_folder`` the module must be in that folder. Otherwise it is the module importable
    from ``sys.path``: the platform wheel installs it at the top of site-packages (the image), and the
    repository's editable install exposes ``plugins/``.

    Raises:
        GateSetupError: No such module can be found.
    """
    if plugins_folder is not None:
        module = plugins_folder.resolve() / f"{LOCAL_SETTINGS_MODULE}.py"
        if not module.is_file():
            raise GateSetupError(f"no {LOCAL_SETTINGS_MODULE}.py found in plugins folder {plugins_folder}")
        return module
    spec = importlib.util.find_spec(LOCAL_SETTINGS_MODULE)
    if spec is None or spec.origin is None:
        raise GateSetupError(
            f"no {LOCAL_SETTINGS_MODULE} module is installed; install the platform package "
            "or pass --plugins-folder"
        )
    return Path(spec.origin).resolve()


def resolve_settings_file(settings_file: Path | None) -> Path:
    """Return the platform settings file: the argument, else the one the settings loader finds.

    The loader's search (``airflow_platform.platform_settings.settings_file_candidates``) starts with
    ``$PLATFORM_SETTINGS_FILE`` and ends with ``config/platform.yaml`` in the working directory or one of
    its parents (the repository root, or ``/opt/airflow`` in the image).

    Raises:
        GateSetupError: The file does not exist (the message names every place searched).
    """
    from airflow_platform.platform_settings import PlatformSettingsError, find_settings_file

    if settings_file is not None:
        if not settings_file.is_file():
            raise GateSetupError(f"platform settings file not found: {settings_file}")
        return settings_file.resolve()
    try:
        return find_settings_file().resolve()
    except PlatformSettingsError as error:
        raise GateSetupError(str(error)) from None


def prepare_environment(plugins_folder: Path | None, settings_file: Path | None) -> GateEnvironment:
    """Set the production settings in ``os.environ`` and ``sys.path``; call before importing Airflow.

    The executors come from the platform settings file (the same list the cluster policies allow),
    examples are off, Airflow itself registers the cluster policies from the ``airflow_local_settings``
    module found by :func:`find_local_settings`, and no metadata database is touched: pools come from
    the settings file.

    Raises:
        GateSetupError: The cluster policies or the settings file cannot be found.
    """
    local_settings = find_local_settings(plugins_folder)
    if plugins_folder is not None:
        # First on sys.path, before anything below imports from it, as Airflow puts its plugins folder.
        folder = str(local_settings.parent)
        if folder in sys.path:
            sys.path.remove(folder)
        sys.path.insert(0, folder)
        os.environ["AIRFLOW__CORE__PLUGINS_FOLDER"] = folder
    settings = resolve_settings_file(settings_file)
    from airflow_platform.platform_settings import SETTINGS_ENV_VAR, load_platform_settings

    os.environ[SETTINGS_ENV_VAR] = str(settings)

    platform = load_platform_settings(settings)
    os.environ.pop("AIRFLOW__CORE__UNIT_TEST_MODE", None)
    if "AIRFLOW_HOME" not in os.environ:
        os.environ["AIRFLOW_HOME"] = tempfile.mkdtemp(prefix="dag-check-airflow-home-")
    os.environ.update(
        {
            "AIRFLOW__CORE__EXECUTOR": ",".join(platform.executors),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "ERROR",
        }
    )
    return GateEnvironment(local_settings=local_settings, settings_file=settings)


def verify_policies_loaded(environment: GateEnvironment) -> None:
    """Check that Airflow registered the cluster policies the gate found.

    Raises:
        GateSetupError: Airflow loaded no ``airflow_local_settings`` or another one.
    """
    module = sys.modules.get(LOCAL_SETTINGS_MODULE)
    module_file = getattr(module, "__file__", None)
    if module_file is None or Path(module_file).resolve() != environment.local_settings:
        raise GateSetupError(
            f"Airflow did not load the cluster policies from {environment.local_settings} "
            f"(loaded: {module_file})"
        )
    from airflow.settings import get_policy_plugin_manager

    hooks = get_policy_plugin_manager().hook
    if not hooks.dag_policy.get_hookimpls() or not hooks.task_policy.get_hookimpls():
        raise GateSetupError("Airflow registered no dag_policy/task_policy hooks")
