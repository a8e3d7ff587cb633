"""Rehearse the image's Python layer natively: image/Dockerfile's steps, run on CPython 3.12.

No container runs on the development machines, so the image's Python layer is rehearsed here, step by
step, by the closest real thing: the Dockerfile is parsed, and every ``python-layer.sh`` step it runs is
run by the same script, in the same order, with the same arguments. Each Dockerfile path is mapped into
a rehearsal folder: a stage's own paths under ``stages/<stage>/``, a bind mount of the build context
to the repository file, a bind mount ``from=<stage>`` to that stage's folder. The build stages get a
build virtualenv (``pip wheel`` needs pip); the runtime stage gets its own fresh virtualenv, which
stands for the airflow user's virtualenv of the base image. Then the image's ``ENV`` and ``COPY``
lines lay out ``/opt/airflow`` the way the image has it, and the commands that prove the image ships
the platform run inside that environment.

What the rehearsal cannot show: the base image's own preinstalled packages (it starts from an empty
virtualenv, so ``uv pip check`` checks the platform's pin set, not its combination with every provider
the base image carries), the apt packages of the build stage (``scripts/setup`` installs the same ones
natively), the file ownership and the user the image runs as.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from platform_devkit.repository import REPO_ROOT

DOCKERFILE = Path("image", "Dockerfile")
LAYER_SCRIPT = "python-layer.sh"
AIRFLOW_HOME = "/opt/airflow"
"""``AIRFLOW_HOME`` of the official image: where the image's ``COPY`` lines put config/ and dags/."""
IMAGE_PYTHON = (3, 12)
RUNTIME_STAGE = ""
"""The name the rehearsal gives the Dockerfile's last stage, which has no ``AS`` name."""


class RehearsalError(RuntimeError):
    """A step of the rehearsal failed; the message has the command and its output's tail."""


@dataclass(frozen=True)
class Mount:
    """A ``RUN --mount=type=bind`` of the Dockerfile."""

    target: str
    source: str
    from_stage: str | None = None
    rw: bool = False


@dataclass(frozen=True)
class LayerStep:
    """One ``sh .../python-layer.sh STEP ARGS`` of the Dockerfile, with the stage and mounts it runs with."""

    stage: str
    name: str
    args: tuple[str, ...]
    mounts: tuple[Mount, ...]


@dataclass(frozen=True)
class ImagePlan:
    """What the Dockerfile does to the runtime stage's Python layer and file system."""

    steps: tuple[LayerStep, ...]
    env: Mapping[str, str]
    copies: tuple[tuple[str, str], ...]
    """``COPY`` of the runtime stage: (context path, image path)."""


def _instructions(text: str) -> list[tuple[str, str]]:
    joined = re.sub(r"\\\n", " ", text)
    lines = [line.strip() for line in joined.splitlines()]
    instructions = []
    for line in lines:
        if not line or line.startswith("#"):
            continue
        keyword, _, rest = line.partition(" ")
        instructions.append((keyword.upper(), rest.strip()))
    return instructions


def _mount(option: str) -> Mount | None:
    items = option.removeprefix("--mount=").split(",")
    fields = dict(item.split("=", 1) for item in items if "=" in item)
    if fields.get("type") != "bind":
        return None
    return Mount(
        target=fields["target"],
        source=fields.get("source", "."),
        from_stage=fields.get("from"),
        rw="rw" in items or fields.get("rw") == "true",
    )


def parse_dockerfile(text: str) -> ImagePlan:
    """Return the Python-layer steps, the runtime stage's ``ENV`` and its ``COPY`` lines.

    Raises:
        RehearsalError: A ``RUN`` of the Python-layer script has a form the rehearsal cannot map.
    """
    steps: list[LayerStep] = []
    env: dict[str, str] = {}
    copies: list[tuple[str, str]] = []
    stage = None
    for keyword, rest in _instructions(text):
        if keyword == "FROM":
            words = rest.split()
            stage = words[2] if len(words) >= 3 and words[1].upper() == "AS" else RUNTIME_STAGE
            env, copies = {}, []
        elif keyword == "ENV":
            name, _, value = rest.partition("=")
            env[name] = value
        elif keyword == "COPY":
            words = [word for word in shlex.split(rest) if not word.startswith("--")]
            copies.append((words[0], words[1]))
        elif keyword == "RUN" and LAYER_SCRIPT in rest:
            words = shlex.split(rest)
            mounts = tuple(m for word in words if word.startswith("--mount=") if (m := _mount(word)))
            command = [word for word in words if not word.startswith("--mount=")]
            if command[:1] != ["sh"] or not command[1].endswith(LAYER_SCRIPT) or stage is None:
                raise RehearsalError(f"cannot rehearse this RUN: {rest}")
            steps.append(LayerStep(stage, command[2], tuple(command[3:]), mounts))
    return ImagePlan(steps=tuple(steps), env=env, copies=tuple(copies))


@dataclass
class StepTiming:
    """How long one rehearsed command took."""

    name: str
    seconds: float


@dataclass
class Rehearsal:
    """A rehearsed image Python layer: its runtime virtualenv and file system, and what each step took."""

    root: Path
    runtime_venv: Path
    airflow_home: Path
    env: dict[str, str]
    timings: list[StepTiming] = field(default_factory=list)

    def run(self, name: str, argv: Sequence[str], timeout: float = 900) -> str:
        """Run ``argv`` in the rehearsed image (its virtualenv, ``ENV`` and ``/opt/airflow``); time it.

        Raises:
            RehearsalError: The command failed.
        """
        return _run(
            argv, cwd=self.airflow_home, env=self.env, timings=self.timings, name=name, timeout=timeout
        )

    def report(self) -> dict[str, float]:
        """Return ``{step: seconds}`` of every step so far."""
        return {timing.name: round(timing.seconds, 2) for timing in self.timings}


def _run(
    argv: Sequence[str],
    *,
    cwd: Path,
    env: Mapping[str, str],
    timings: list[StepTiming],
    name: str,
    timeout: float,
) -> str:
    started = time.monotonic()
    completed = subprocess.run(
        list(argv),
        cwd=cwd,
        env=dict(env),
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    timings.append(StepTiming(name, time.monotonic() - started))
    if completed.returncode != 0:
        output = (completed.stdout + completed.stderr).strip().splitlines()
        tail = "\n".join(output[-40:])
        raise RehearsalError(f"{name} failed ({shlex.join(argv)}), exit {completed.returncode}:\n{tail}")
    return completed.stdout


def _virtualenv(python: Path, path: Path, timings: list[StepTiming], name: str) -> Path:
    _run(
        [str(python), "-m", "venv", str(path)],
        cwd=path.parent,
        env=os.environ,
        timings=timings,
        name=name,
        timeout=300,
    )
    return path


def _venv_env(venv: Path, uv: Path, extra: Mapping[str, str] = {}) -> dict[str, str]:
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("AIRFLOW", "PLATFORM_", "VIRTUAL_ENV", "UV_PROJECT", "PYTHON"))
    }
    env.update(extra)
    env["VIRTUAL_ENV"] = str(venv)
    env["PATH"] = os.pathsep.join([str(venv / "bin"), str(uv.parent), env.get("PATH", "")])
    return env


def _stage_root(root: Path, stage: str) -> Path:
    return root / "stages" / (stage or "runtime")


def _bind(root: Path, repo: Path, step: LayerStep) -> None:
    """Put the step's bind mounts in place in its stage's folder, as the builder would mount them.

    A mount of the build context becomes a symlink to the repository file (a copy when it is ``rw``:
    writes to it are discarded in the image too); a mount ``from=<stage>`` becomes a symlink to that
    stage's folder.
    """
    stage_root = _stage_root(root, step.stage)
    for mount in step.mounts:
        target = stage_root / mount.target.lstrip("/")
        if target.is_symlink() or target.is_file():
            target.unlink()
        elif target.is_dir():
            shutil.rmtree(target)
        target.parent.mkdir(parents=True, exist_ok=True)
        if mount.from_stage is not None:
            target.symlink_to(_stage_root(root, mount.from_stage) / mount.source.lstrip("/"))
        elif mount.rw and (repo / mount.source).is_dir():
            shutil.copytree(repo / mount.source, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            target.symlink_to(repo / mount.source)


def find_python312() -> Path | None:
    """Return a CPython 3.12 interpreter: ``$PLATFORM_PYTHON``, this one, ``python3.12``, or pyenv's."""
    candidates = [os.environ.get("PLATFORM_PYTHON", "")]
    if sys.version_info[:2] == IMAGE_PYTHON:
        candidates.append(getattr(sys, "_base_executable", sys.executable))
    candidates.append(shutil.which("python3.12") or "")
    pyenv_root = Path(os.environ.get("PYENV_ROOT", Path.home() / ".pyenv"))
    candidates += [str(path) for path in sorted(pyenv_root.glob("versions/3.12*/bin/python3.12"))]
    for candidate in filter(None, candidates):
        probe = subprocess.run(
            [candidate, "-c", "import sys, venv; sys.exit(sys.version_info[:2] != (3, 12))"],
            capture_output=True,
            check=False,
        )
        if probe.returncode == 0:
            return Path(candidate)
    return None


def rehearse(root: Path, python: Path, uv: Path, repo: Path = REPO_ROOT) -> Rehearsal:
    """Run image/Dockerfile's Python-layer steps natively in ``root`` and lay out ``/opt/airflow``.

    Args:
        root: An empty folder for the rehearsal's stages and virtualenvs.
        python: A CPython 3.12 interpreter, the image's Python.
        uv: The uv binary (the image's ``uv pip`` steps run with it).
        repo: The repository (the build context).

    Raises:
        RehearsalError: A step failed, or the Dockerfile has a step the rehearsal cannot map.
    """
    plan = parse_dockerfile((repo / DOCKERFILE).read_text())
    timings: list[StepTiming] = []
    build_venv = _virtualenv(python, root / "build-venv", timings, "build virtualenv")
    runtime_venv = _virtualenv(python, root / "runtime-venv", timings, "runtime virtualenv")
    script = repo / "image" / LAYER_SCRIPT
    for step in plan.steps:
        venv = runtime_venv if step.stage == RUNTIME_STAGE else build_venv
        _bind(root, repo, step)
        stage_root = _stage_root(root, step.stage)
        args = [str(stage_root / arg.lstrip("/")) if arg.startswith("/") else arg for arg in step.args]
        for arg in args:
            Path(arg).parent.mkdir(parents=True, exist_ok=True)
        _run(
            ["sh", str(script), step.name, *args],
            cwd=root,
            env=_venv_env(venv, uv),
            timings=timings,
            name=step.name,
            timeout=1800,
        )
    image_root = _stage_root(root, RUNTIME_STAGE)
    for source, target in plan.copies:
        shutil.copytree(repo / source, image_root / target.lstrip("/"), dirs_exist_ok=True)
    image_env = {
        name: str(image_root / value.lstrip("/")) if value.startswith("/") else value
        for name, value in plan.env.items()
    }
    airflow_home = image_root / AIRFLOW_HOME.lstrip("/")
    image_env["AIRFLOW_HOME"] = str(airflow_home)
    return Rehearsal(
        root=root,
        runtime_venv=runtime_venv,
        airflow_home=airflow_home,
        env=_venv_env(runtime_venv, uv, image_env),
        timings=timings,
    )


def write_report(rehearsal: Rehearsal, path: Path) -> None:
    """Write the timings of every rehearsed step as JSON to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(rehearsal.report(), indent=2) + "\n")
