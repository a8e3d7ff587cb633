"""Where the official Airflow chart comes from: an env var, the local cache, or the network.

Nothing of the chart is kept in the repository: ``PLATFORM_AIRFLOW_CHART`` names a chart directory
or ``.tgz`` on this machine; otherwise the pinned version is pulled once from the official
repository into the user's cache (``~/.cache/airflow-platform/charts``) with Helm's own client.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Final

from platform_devkit.chart.errors import ChartUnavailableError

ENV_CHART: Final = "PLATFORM_AIRFLOW_CHART"
OFFICIAL_CHART: Final = "airflow"
"""The official chart's name in its repository (``apache-airflow`` is only a common repo alias)."""


def cache_dir() -> Path:
    """Return the folder pulled charts are kept in (``$XDG_CACHE_HOME`` or ``~/.cache``)."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "airflow-platform" / "charts"


def how_to_provide(version: str, repo: str) -> str:
    """Return the sentence that tells a reader how to make the chart available."""
    return (
        f"set {ENV_CHART} to a directory or .tgz of the official chart {OFFICIAL_CHART} {version}, "
        f"or allow network access to {repo} so that it is pulled into {cache_dir()}"
    )


def locate_chart(version: str, repo: str) -> Path:
    """Return a chart directory or archive of the official chart at ``version``.

    Args:
        version: The chart version to pull when neither the env var nor the cache has it.
        repo: The chart repository URL.

    Returns:
        ``$PLATFORM_AIRFLOW_CHART`` when set, else the cached archive, else a freshly pulled one.

    Raises:
        ChartUnavailableError: the env var names a missing path, or the pull failed (no network,
            no such chart); :func:`how_to_provide` says what to do instead.
    """
    named = os.environ.get(ENV_CHART)
    if named:
        path = Path(named).expanduser()
        if not path.exists():
            raise ChartUnavailableError(f"{ENV_CHART}={named} does not exist")
        return path
    archive = cache_dir() / f"{OFFICIAL_CHART}-{version}.tgz"
    if archive.is_file():
        return archive
    try:
        import helm_python
    except ImportError as error:
        raise ChartUnavailableError(f"helm-python-sdk is not installed ({error})") from error
    archive.parent.mkdir(parents=True, exist_ok=True)
    try:
        helm_python.pull(OFFICIAL_CHART, repo_url=repo, version=version, destination=archive.parent)
    except helm_python.HelmError as error:
        raise ChartUnavailableError(f"cannot pull {OFFICIAL_CHART} {version} from {repo}: {error}") from error
    if not archive.is_file():
        raise ChartUnavailableError(f"the pull of {OFFICIAL_CHART} {version} left no {archive}")
    return archive
