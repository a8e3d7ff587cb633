"""The custom Airflow image and the project environments the checks run in."""

import dagger
from dagger import dag

from airflow_platform_ci.commands import REPORTS_DIR
from airflow_platform_ci.pins import AIRFLOW_VERSION, LINT_BASE_IMAGE, PYTHON_VERSION, UV_IMAGE

DOCKERFILE = "image/Dockerfile"
BUILD_ARG_NAMES = ("AIRFLOW_VERSION", "PYTHON_VERSION")
"""Build arguments ``image/Dockerfile`` declares (``ARG`` before ``FROM``); a test keeps them in sync."""

WORKDIR = "/opt/platform"
"""Where the repository is copied in the check containers; the commands run from here."""
VENV = "/opt/platform-venv"
UV_CACHE = "/root/.cache/uv"
UV_CACHE_VOLUME = "airflow-platform-uv"


def build_image(
    source: dagger.Directory, airflow_version: str = AIRFLOW_VERSION, python_version: str = PYTHON_VERSION
) -> dagger.Container:
    """Build ``image/Dockerfile`` with the repository as context.

    The Dockerfile copies ``image/requirements.txt`` and installs it before it copies plugins, DAGs and
    settings, so a DAG-only change reuses the dependency layers (BuildKit caches by file content).
    """
    args = [dagger.BuildArg(name="AIRFLOW_VERSION", value=airflow_version)]
    args.append(dagger.BuildArg(name="PYTHON_VERSION", value=python_version))
    return source.docker_build(dockerfile=DOCKERFILE, build_args=args)


def with_uv(container: dagger.Container) -> dagger.Container:
    """Add the pinned ``uv`` binary, its cache volume, and settings for locked, offline-Python syncs."""
    return (
        container.with_file("/usr/local/bin/uv", dag.container().from_(UV_IMAGE).file("/uv"))
        .with_mounted_cache(UV_CACHE, dag.cache_volume(UV_CACHE_VOLUME))
        .with_env_variable("UV_LINK_MODE", "copy")
        .with_env_variable("UV_PYTHON_DOWNLOADS", "never")
        .with_env_variable("UV_FROZEN", "1")
        .with_env_variable("UV_PROJECT_ENVIRONMENT", VENV)
    )


def project_env(base: dagger.Container, source: dagger.Directory, *, dev_only: bool) -> dagger.Container:
    """Install the locked project environment into ``base``, then add the repository.

    Dependency layer first (``pyproject.toml`` + ``uv.lock`` only), source layer second, so editing a
    DAG or a test does not reinstall anything. Afterwards ``UV_NO_SYNC`` makes ``uv run X`` just run X
    from that environment: the containers run exactly the commands of the native suite.

    Args:
        base: The image to install into.
        source: The repository.
        dev_only: Install only the dev group (the linters), not Airflow and the platform package.
    """
    sync = ["uv", "sync", "--only-group", "dev"] if dev_only else ["uv", "sync"]
    container = (
        with_uv(base.with_user("root"))
        .with_workdir(WORKDIR)
        .with_file(f"{WORKDIR}/pyproject.toml", source.file("pyproject.toml"))
        .with_file(f"{WORKDIR}/uv.lock", source.file("uv.lock"))
        .with_exec([*sync, "--no-install-project"])
        .with_directory(WORKDIR, source)
    )
    if not dev_only:
        container = container.with_exec(sync)
    return container.with_env_variable("UV_NO_SYNC", "1").with_exec(["mkdir", "-p", REPORTS_DIR])


def lint_env(source: dagger.Directory) -> dagger.Container:
    """The linters' environment: Python plus the dev group."""
    return project_env(dag.container().from_(LINT_BASE_IMAGE), source, dev_only=True)


def test_env(image: dagger.Container, source: dagger.Directory) -> dagger.Container:
    """The built image plus the locked dev group: the DAG gate and the test tiers run here."""
    return project_env(image, source, dev_only=False)
