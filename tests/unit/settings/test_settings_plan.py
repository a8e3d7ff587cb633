"""What ``platform-settings`` decides to write, and the inputs it refuses before touching any database."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from airflow_platform.platform_settings import load_platform_settings
from platform_devkit.repository import REPO_ROOT
from platform_tools.settings_apply.connection_details import (
    ConnectionDetails,
    SettingsInputError,
    load_connection_details,
)
from platform_tools.settings_apply.settings_command import settings_parser
from platform_tools.settings_apply.settings_plan import build_plan

SETTINGS = load_platform_settings(REPO_ROOT / "config" / "platform.yaml")


def _details_file(tmp_path: Path, document: object) -> Path:
    path = tmp_path / "connections.json"
    path.write_text(json.dumps(document))
    return path


def test_without_details_or_options_the_plan_is_platform_yaml_as_declared() -> None:
    plan = build_plan(SETTINGS, {}, {})
    assert [pool.name for pool in plan.pools] == list(SETTINGS.pools)
    assert {variable.key: variable.value for variable in plan.variables} == {
        key: spec.value for key, spec in SETTINGS.variables.items()
    }
    assert plan.connections == ()
    assert plan.declared_connections == len(SETTINGS.connections)


def test_platform_options_replace_the_values_of_their_variables() -> None:
    plan = build_plan(SETTINGS, {"environment": "prod", "data_lake_bucket": "acme-lake-prod"}, {})
    values = {variable.key: (variable.value, variable.from_platform_section) for variable in plan.variables}
    assert values["environment"] == ("prod", True)
    assert values["data_lake_bucket"] == ("acme-lake-prod", True)
    assert values["ml_accuracy_threshold"] == (SETTINGS.variables["ml_accuracy_threshold"].value, False)


def test_a_platform_option_must_name_a_declared_variable() -> None:
    with pytest.raises(
        SettingsInputError, match=r"airflow.cfg \[platform\] enviroment: not a variable declared"
    ):
        build_plan(SETTINGS, {"enviroment": "prod"}, {})


def test_details_take_the_declared_type_and_description(tmp_path: Path) -> None:
    path = _details_file(tmp_path, {"partner_api": {"host": "http://127.0.0.1:8000/partner"}})
    plan = build_plan(SETTINGS, {}, load_connection_details(path), path)
    (planned,) = plan.connections
    assert planned.spec == SETTINGS.connections["partner_api"]
    assert planned.details.host == "http://127.0.0.1:8000/partner"


@pytest.mark.parametrize(
    ("details", "message"),
    [
        ({"warehouse": {"host": "db"}}, "key 'warehouse': connection 'warehouse' is not declared in"),
        ({"smtp_default": {"conn_type": "email"}}, "key 'smtp_default'.conn_type is 'email', but"),
    ],
)
def test_undeclared_ids_and_other_types_are_refused(tmp_path: Path, details: dict, message: str) -> None:
    path = _details_file(tmp_path, details)
    with pytest.raises(SettingsInputError, match=message) as caught:
        build_plan(SETTINGS, {}, load_connection_details(path), path)
    assert str(caught.value).startswith(str(path))


@pytest.mark.parametrize(
    ("entry", "key"),
    [
        ({"port": "5432"}, "aws_default.port"),
        ({"password": 1234}, "aws_default.password"),
        ({"extra": "{not json"}, "aws_default.extra"),
        ({"extra": ["a"]}, "aws_default.extra"),
        ({"uri": "postgres://x"}, "aws_default.uri"),
    ],
)
def test_a_malformed_details_entry_names_the_file_and_key(tmp_path: Path, entry: dict, key: str) -> None:
    path = _details_file(tmp_path, {"aws_default": entry})
    with pytest.raises(SettingsInputError, match=f"key '{key}'") as caught:
        load_connection_details(path)
    assert str(caught.value).startswith(str(path))


def test_no_message_or_summary_carries_a_credential(tmp_path: Path) -> None:
    password = secrets.token_urlsafe(16)
    path = tmp_path / "connections.yaml"
    # A YAML error right after the secret: the parser's own message would quote it.
    path.write_text(f"aws_default:\n  password: {password}\n  extra: [unclosed\n")
    with pytest.raises(SettingsInputError) as caught:
        load_connection_details(path)
    assert password not in str(caught.value)
    details = {"aws_default": ConnectionDetails("aws_default", login="key-id", password=password, extra="{}")}
    plan = build_plan(SETTINGS, {}, details)
    assert password not in "\n".join(plan.summary_lines()) + repr(plan)


def test_the_command_has_apply_and_check() -> None:
    parser = settings_parser()
    assert parser.parse_args(["apply", "--connections", "c.json"]).connections == Path("c.json")
    assert parser.parse_args(["check"]).command == "check"
    with pytest.raises(SystemExit):
        parser.parse_args([])
