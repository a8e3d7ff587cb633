"""The image's pin set: ``image/requirements.txt`` exported from ``uv.lock``, and the resolver traps.

``uv.lock`` is the single source of pins. The image installs ``image/requirements.txt`` with
``--no-deps``, so that file must list every runtime package at its locked version, one ``name==version``
line each, for the image's interpreter (CPython 3.12 on Linux). Regenerate it with::

    uv run python -m platform_devkit.image_pins --write
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging.requirements import Requirement
from packaging.version import Version

from platform_devkit.repository import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "image" / "requirements.txt"
LOCK = REPO_ROOT / "uv.lock"
REGENERATE = "uv run python -m platform_devkit.image_pins --write"
HEADER = (
    f"# Exported from uv.lock for the image (CPython 3.12, Linux); do not edit. Regenerate: {REGENERATE}\n"
)
# The interpreter of apache/airflow:3.3.2-python3.12, for evaluating the lock's environment markers.
IMAGE_ENVIRONMENT = {
    "implementation_name": "cpython",
    "platform_python_implementation": "CPython",
    "platform_system": "Linux",
    "sys_platform": "linux",
    "os_name": "posix",
    "platform_machine": "x86_64",
    "python_version": "3.12",
    "python_full_version": "3.12.12",
}


def export_requirements(repo_root: Path = REPO_ROOT) -> str:
    """Return the image's requirements text: the locked runtime set with markers evaluated for the image."""
    exported = subprocess.run(
        [
            "uv",
            "export",
            "--frozen",
            "--no-dev",
            "--no-hashes",
            "--no-emit-project",
            "--no-header",
            "--no-annotate",
        ],
        cwd=repo_root,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    pins = []
    for line in exported.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        requirement = Requirement(line)
        if requirement.marker is None or requirement.marker.evaluate(IMAGE_ENVIRONMENT):
            pins.append(f"{requirement.name}{requirement.specifier}")
    return HEADER + "\n".join(sorted(pins, key=str.lower)) + "\n"


def parse_pins(text: str) -> dict[str, str]:
    """Map each ``name==version`` line of a requirements text to its version (names normalised)."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        if not separator or not version or ";" in version:
            raise ValueError(f"not an exact pin: {line!r}")
        pins[name.strip().lower().replace("_", "-")] = version.strip()
    return pins


def drift(expected: str, actual: str) -> list[str]:
    """List the packages whose pins differ between two requirements texts, one line each."""
    want, have = parse_pins(expected), parse_pins(actual)
    lines = []
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) != have.get(name):
            locked, listed = want.get(name, "nothing"), have.get(name, "nothing")
            lines.append(f"{name}: uv.lock has {locked}, requirements.txt has {listed}")
    return lines


@dataclass(frozen=True)
class Trap:
    """A resolution that looks fine but breaks the platform, and the floor that rules it out."""

    package: str
    minimum: str
    why: str


TRAPS = (
    Trap("kfp", "2.0", "the kfp SDK pins kubernetes<31 and falls back to 0.1.16; use kfp-server-api"),
    Trap("apache-airflow-providers-cncf-kubernetes", "10.25.0", "kfp drags the provider down to 10.5.0"),
    Trap("airflow-provider-great-expectations", "1.0.0", "0.x uses the removed GX 0.x API"),
    Trap("great-expectations", "1.0.0", "the platform's GX operator is written for GX 1.x"),
    Trap("mlflow-skinny", "3.0.0", "the platform uses MLflow 3 aliases"),
    Trap("apache-airflow", "3.3.0", "the platform is Airflow 3.3 only"),
)


def locked_versions(lock_path: Path = LOCK) -> dict[str, list[str]]:
    """Return every package name in ``uv.lock`` with its locked versions."""
    lock = tomllib.loads(lock_path.read_text())
    versions: dict[str, list[str]] = {}
    for package in lock.get("package", []):
        if "version" in package:
            versions.setdefault(package["name"], []).append(package["version"])
    return versions


def trap_violations(versions: dict[str, list[str]]) -> list[str]:
    """Return one message per trap the locked versions fall into (an empty list when none)."""
    problems = []
    for trap in TRAPS:
        for version in versions.get(trap.package, []):
            if Version(version) < Version(trap.minimum):
                problems.append(f"{trap.package}=={version} is below {trap.minimum}: {trap.why}")
    return problems


def main(argv: list[str] | None = None) -> int:
    """Check (default) or ``--write`` image/requirements.txt against uv.lock."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="rewrite image/requirements.txt from uv.lock")
    args = parser.parse_args(argv)
    expected = export_requirements()
    if args.write:
        REQUIREMENTS.write_text(expected)
        print(f"wrote {REQUIREMENTS.relative_to(REPO_ROOT)} ({len(parse_pins(expected))} pins)")
        return 0
    actual = REQUIREMENTS.read_text() if REQUIREMENTS.exists() else ""
    differences = drift(expected, actual)
    for line in differences:
        print(line)
    if differences:
        print(f"image/requirements.txt drifted from uv.lock; regenerate it: {REGENERATE}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
