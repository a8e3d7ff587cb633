"""The custom Airflow image and the environments the checks run in."""

import dagger
from dagger import dag

from airflow_platform_ci.commands import REPORTS_DIR, rendered_manifest
from airflow_platform_ci.pins import AIRFLOW_VERSION, PYTHON_VERSION, TOOLS_BASE_IMAGE, UV_IMAGE

DOCKERFILE = "image/Dockerfile"
BUILD_ARG_NAMES = ("AIRFLOW_VERSION", "PYTHON_VERSION")
"""Build arguments ``image/Dockerfile`` declares (``ARG`` before ``FROM``); a test keeps them in sync."""

WORKDIR = "/opt/platform"
"""Where the repository is copied in the lint and test containers; the commands run from here."""
IMAGE_WORKDIR = "/opt/airflow"
"""``AIRFLOW_HOME`` of the image, where it carries ``dags/`` and ``config/``; the DAG gate runs here."""
UV_CACHE = "/root/.cache/uv"
UV_CACHE_VOLUME = "airflow-platform-uv"
SETUP_SCRIPT = "scripts/setup"
"""The script that prepares a native machine and, here, the test container (system packages, uv, env)."""
TOOLS_DIR = "/opt/platform-tools"
"""Where ``scripts/setup`` puts its private uv in the test container (``PLATFORM_TOOLS_DIR``)."""
SYNC_DEV_GROUP = ("uv", "sync", "--only-group", "dev")
"""The lint container's environment: the dev group, which ``scripts/setup`` also syncs natively."""
MAKE_REPORTS_DIR = ("mkdir", "-p", REPORTS_DIR)
PREPARATION = ((SETUP_SCRIPT,), SYNC_DEV_GROUP, MAKE_REPORTS_DIR)
"""Every exec that prepares a check container before its table command: the same set-up as natively."""
DEV_GROUP_FILES = ("pyproject.toml", "uv.lock", "README.md", "ci/**", "devkit/**")
"""What ``uv sync --only-group dev`` reads: the lock, the root project's metadata, the local projects."""
ENVIRONMENT_FILES = (*DEV_GROUP_FILES, "plugins/**", "src/**")
"""What the whole environment's sync reads: the dev group's files and the root project's packages."""


def build_image(
    source: dagger.Directory, airflow_version: str = AIRFLOW_VERSION, python_version: str = PYTHON_VERSION
) -> dagger.Container:
    """Build ``image/Dockerfile`` with the repository as context.

    The Dockerfile installs the pinned requirements, then the platform wheel, then copies the settings
    and DAGs, so a DAG-only change reuses every dependency layer (BuildKit caches by file content).
    """
    args = [dagger.BuildArg(name="AIRFLOW_VERSION", value=airflow_version)]
    args.append(dagger.BuildArg(name="PYTHON_VERSION", value=python_version))
    return source.docker_build(dockerfile=DOCKERFILE, build_args=args)


def image_env(image: dagger.Container) -> dagger.Container:
    """The built image, in its own environment, at ``AIRFLOW_HOME``, where it carries the ``dags/`` to check.

    Nothing is installed into it: the DAG gate is the ``dag-check`` the image ships, and the DAGs are
    the ones ``image/Dockerfile`` copied from the repository.
    """
    return image.with_workdir(IMAGE_WORKDIR).with_exec(list(MAKE_REPORTS_DIR))


def with_uv_cache(container: dagger.Container) -> dagger.Container:
    """Share uv's download and build cache between runs (a cache volume, never part of an image)."""
    return container.with_mounted_cache(UV_CACHE, dag.cache_volume(UV_CACHE_VOLUME)).with_env_variable(
        "UV_LINK_MODE", "copy"
    )


def lint_env(source: dagger.Directory) -> dagger.Container:
    """The linters' environment: the image's Python on Debian 12, the pinned uv and the locked dev group.

    The dependency layer (``pyproject.toml``, ``uv.lock`` and the dev group's local projects) comes
    before the rest of the repository, so editing code does not reinstall anything. Afterwards
    ``UV_NO_SYNC`` makes ``uv run X`` just run X, exactly the command the native suite runs.
    """
    container = (
        with_uv_cache(dag.container().from_(TOOLS_BASE_IMAGE))
        .with_file("/usr/local/bin/uv", dag.container().from_(UV_IMAGE).file("/uv"))
        .with_env_variable("UV_FROZEN", "1")
        .with_env_variable("UV_PYTHON_DOWNLOADS", "never")
        .with_workdir(WORKDIR)
        .with_directory(
            WORKDIR,
            source,
            include=list(DEV_GROUP_FILES),
        )
        .with_exec(list(SYNC_DEV_GROUP))
        .with_directory(WORKDIR, source)
    )
    return container.with_env_variable("UV_NO_SYNC", "1").with_exec(list(MAKE_REPORTS_DIR))


def with_rendered(checker: dagger.Container, env: str, manifest: dagger.File) -> dagger.Container:
    """Put ``env``'s rendered release in :func:`lint_env` where its chart check reads it."""
    return checker.with_file(f"{WORKDIR}/{rendered_manifest(env)}", manifest)


def test_env(source: dagger.Directory) -> dagger.Container:
    """The test tiers' environment, prepared by ``scripts/setup`` exactly as a native machine is.

    Each layer is reused until its inputs change: the system packages and uv (from ``scripts/``), then
    the project environment (from the lock and the projects' sources), then the rest of the
    repository, so a change to a test or a DAG syncs nothing.
    """
    container = (
        with_uv_cache(dag.container().from_(TOOLS_BASE_IMAGE))
        .with_workdir(WORKDIR)
        .with_directory(f"{WORKDIR}/scripts", source.directory("scripts"))
        .with_env_variable("PLATFORM_TOOLS_DIR", TOOLS_DIR)
        .with_env_variable("PLATFORM_SETUP_STEPS", "system,uv")
        .with_exec([SETUP_SCRIPT])
        .with_env_variable("PLATFORM_SETUP_STEPS", "env")
        .with_directory(WORKDIR, source, include=list(ENVIRONMENT_FILES))
        .with_exec([SETUP_SCRIPT])
        .without_env_variable("PLATFORM_SETUP_STEPS")
        .with_directory(WORKDIR, source)
    )
    return (
        container.with_env_variable("PATH", f"{TOOLS_DIR}/bin:${{PATH}}", expand=True)
        .with_env_variable("UV_NO_SYNC", "1")
        .with_exec(list(MAKE_REPORTS_DIR))
    )
