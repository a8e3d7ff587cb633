"""The image's pin set: ``image/requirements.txt`` exported from ``uv.lock``, and the resolver traps.

``uv.lock`` is the single source of pins. The image installs ``image/requirements.txt`` with
``--no-deps``, so that file must list every runtime package at its locked version, one ``name==version``
line each, for the image's interpreter (CPython 3.12 on Linux). The pins that have no wheel for that
interpreter in the lock go to ``image/source-only.txt`` too: the image builds their wheels in a build
stage, because its install refuses to compile (``--no-build``). Regenerate both with::

    uv run python -m platform_devkit.image_pins --write
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

from packaging import tags
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name, parse_wheel_filename
from packaging.version import Version

from platform_devkit.repository import REPO_ROOT

REQUIREMENTS = REPO_ROOT / "image" / "requirements.txt"
SOURCE_ONLY = REPO_ROOT / "image" / "source-only.txt"
LOCK = REPO_ROOT / "uv.lock"
REGENERATE = "uv run python -m platform_devkit.image_pins --write"
HEADER = (
    f"# Exported from uv.lock for the image (CPython 3.12, Linux); do not edit. Regenerate: {REGENERATE}\n"
)
SOURCE_ONLY_HEADER = (
    "# The pins of requirements.txt with no wheel for the image's interpreter: the image builds them in a\n"
    f"# build stage (image/python-layer.sh source-wheels). Exported from uv.lock; do not edit. {REGENERATE}\n"
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


def image_wheel_tags() -> frozenset[tags.Tag]:
    """Return the wheel tags the image's interpreter installs: CPython 3.12, glibc Linux on x86-64.

    The base image is Debian 12 (glibc 2.36), so manylinux wheels up to ``manylinux_2_36`` fit.
    """
    platforms = [f"manylinux_2_{minor}_x86_64" for minor in range(36, 4, -1)]
    platforms += ["manylinux2014_x86_64", "manylinux2010_x86_64", "manylinux1_x86_64", "linux_x86_64"]
    supported = [*tags.cpython_tags((3, 12), platforms=platforms)]
    supported += tags.compatible_tags((3, 12), interpreter="cp312", platforms=platforms)
    return frozenset(supported)


def export_source_only(requirements: str, lock_path: Path = LOCK) -> str:
    """Return ``image/source-only.txt``: the pins of ``requirements`` whose lock entry has no usable wheel."""
    wanted = parse_pins(requirements)
    usable = image_wheel_tags()
    lock = tomllib.loads(lock_path.read_text())
    source_only = []
    for package in lock.get("package", []):
        name = canonicalize_name(package["name"])
        if wanted.get(name) != package.get("version"):
            continue
        wheel_tags = (
            parse_wheel_filename(wheel["url"].rsplit("/", 1)[-1])[3] for wheel in package.get("wheels", [])
        )
        if not any(usable & tag_set for tag_set in wheel_tags):
            source_only.append(f"{name}=={package['version']}")
    return SOURCE_ONLY_HEADER + "\n".join(sorted(source_only)) + "\n"


def parse_pins(text: str) -> dict[str, str]:
    """Map each ``name==version`` line of a requirements text to its version (names normalised)."""
    pins: dict[str, str] = {}
    for line in text.splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        name, separator, version = line.partition("==")
        if not separator or not version or ";" in version:
            raise ValueError(f"not an exact pin: {line!r}")
        pins[canonicalize_name(name.strip())] = version.strip()
    return pins


def drift(expected: str, actual: str, file_name: str = "requirements.txt") -> list[str]:
    """List the packages whose pins differ between the exported text and ``file_name``'s, one line each."""
    want, have = parse_pins(expected), parse_pins(actual)
    lines = []
    for name in sorted(want.keys() | have.keys()):
        if want.get(name) != have.get(name):
            locked, listed = want.get(name, "nothing"), have.get(name, "nothing")
            lines.append(f"{name}: uv.lock has {locked}, {file_name} has {listed}")
    return lines


@dataclass(frozen=True)
class Trap:
    """A resolution that looks fine but breaks the platform, and the floor that rules it out."""

    package: str
    minimum: str
    why: str


TRAPS = (
    Trap("kfp", "2.0", "the kfp SDK pins kubernetes<31 and falls back to 0.1.16; call the KFP REST API"),
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
    """Check (default) or ``--write`` image/requirements.txt and image/source-only.txt against uv.lock."""
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--write", action="store_true", help="rewrite both files from uv.lock")
    args = parser.parse_args(argv)
    expected = export_requirements()
    expected_source_only = export_source_only(expected)
    if args.write:
        REQUIREMENTS.write_text(expected)
        SOURCE_ONLY.write_text(expected_source_only)
        print(f"wrote {REQUIREMENTS.relative_to(REPO_ROOT)} ({len(parse_pins(expected))} pins)")
        print(f"wrote {SOURCE_ONLY.relative_to(REPO_ROOT)} ({len(parse_pins(expected_source_only))} pins)")
        return 0
    differences = []
    for path, text in ((REQUIREMENTS, expected), (SOURCE_ONLY, expected_source_only)):
        actual = path.read_text() if path.exists() else ""
        differences += drift(text, actual, path.name)
    for line in differences:
        print(line)
    if differences:
        print(f"the image's pin files drifted from uv.lock; regenerate them: {REGENERATE}")
    return 1 if differences else 0


if __name__ == "__main__":
    sys.exit(main())
