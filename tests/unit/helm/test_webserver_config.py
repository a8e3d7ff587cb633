"""helm/webserver_config.py under Airflow 3.3 with the FAB provider, for each PLATFORM_AUTH_TYPE."""

from __future__ import annotations

import json
import os
import runpy
import secrets
from typing import Any

import pytest

from platform_devkit.helm_values import repo_root

WEBSERVER_CONFIG = repo_root() / "helm" / "webserver_config.py"
PLATFORM_ENV_PREFIXES = ("PLATFORM_AUTH", "PLATFORM_LDAP", "PLATFORM_OIDC", "PLATFORM_OAUTH")


@pytest.fixture(scope="module")
def fab() -> Any:
    """FAB's constants and Airflow's FAB security manager (imports Airflow once per module)."""
    from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
    from flask_appbuilder import const

    return type("Fab", (), {"const": const, "base": FabAirflowSecurityManagerOverride})


@pytest.fixture
def load(monkeypatch: pytest.MonkeyPatch, fab: Any):
    """Execute webserver_config.py with exactly the given PLATFORM_* environment; return its globals."""

    def _load(**env: str) -> dict[str, Any]:
        for name in list(os.environ):
            if name.startswith(PLATFORM_ENV_PREFIXES):
                monkeypatch.delenv(name)
        for name, value in env.items():
            monkeypatch.setenv(name, value)
        return runpy.run_path(str(WEBSERVER_CONFIG))

    return _load


LDAP_ENV = {
    "PLATFORM_AUTH_TYPE": "ldap",
    "PLATFORM_LDAP_SERVER": "ldap://ldap.acme.example:389",
    "PLATFORM_LDAP_BIND_DN": "cn=airflow-bind,ou=services,dc=acme,dc=example",
    "PLATFORM_LDAP_SEARCH_BASE": "ou=people,dc=acme,dc=example",
    "PLATFORM_LDAP_GROUP_BASE": "ou=groups,dc=acme,dc=example",
}


def test_db_auth_is_the_default(load, fab: Any) -> None:
    config = load()
    assert config["AUTH_TYPE"] == fab.const.AUTH_DB
    assert config["AUTH_USER_REGISTRATION"] is False
    assert "AUTH_LDAP_SERVER" not in config
    assert "OAUTH_PROVIDERS" not in config
    assert config["WTF_CSRF_ENABLED"] is True


def test_security_manager_adds_the_ml_engineer_role(load, fab: Any) -> None:
    manager = load()["SECURITY_MANAGER_CLASS"]
    assert issubclass(manager, fab.base)
    roles = {config["role"]: set(config["perms"]) for config in manager.ROLE_CONFIGS}
    assert {"Admin", "Op", "User", "Viewer", "Public", "MLEngineer"} <= set(roles)
    assert roles["User"] < roles["MLEngineer"]
    assert not roles["MLEngineer"] & set(fab.base.ADMIN_PERMISSIONS)
    assert ("can_edit", "Variables") in roles["MLEngineer"]
    assert ("can_edit", "Connections") not in roles["MLEngineer"]


def test_ldap_settings_come_from_the_environment(load, fab: Any) -> None:
    password = secrets.token_hex(8)
    config = load(**LDAP_ENV, PLATFORM_LDAP_BIND_PASSWORD=password)
    assert config["AUTH_TYPE"] == fab.const.AUTH_LDAP
    assert config["AUTH_LDAP_SERVER"] == "ldap://ldap.acme.example:389"
    assert config["AUTH_LDAP_USE_TLS"] is True, "StartTLS by default on ldap://"
    assert config["AUTH_LDAP_TLS_DEMAND"] is True
    assert config["AUTH_LDAP_ALLOW_SELF_SIGNED"] is False
    assert config["AUTH_LDAP_BIND_USER"] == LDAP_ENV["PLATFORM_LDAP_BIND_DN"]
    assert config["AUTH_LDAP_BIND_PASSWORD"] == password
    assert config["AUTH_LDAP_SEARCH"] == LDAP_ENV["PLATFORM_LDAP_SEARCH_BASE"]
    assert config["AUTH_LDAP_GROUP_FIELD"] == "memberOf"
    assert config["AUTH_ROLES_MAPPING"] == {
        "cn=airflow-admins,ou=groups,dc=acme,dc=example": ["Admin"],
        "cn=airflow-ops,ou=groups,dc=acme,dc=example": ["Op"],
        "cn=airflow-users,ou=groups,dc=acme,dc=example": ["User"],
        "cn=airflow-viewers,ou=groups,dc=acme,dc=example": ["Viewer"],
        "cn=ml-engineers,ou=groups,dc=acme,dc=example": ["MLEngineer"],
        "cn=model-approvers,ou=groups,dc=acme,dc=example": ["ModelApprover"],
    }
    assert config["AUTH_ROLES_SYNC_AT_LOGIN"] is True
    assert config["AUTH_USER_REGISTRATION"] is True
    assert config["AUTH_USER_REGISTRATION_ROLE"] == "Public"


def test_ldaps_does_not_also_start_tls(load) -> None:
    env = {**LDAP_ENV, "PLATFORM_LDAP_SERVER": "ldaps://ldap.acme.example:636"}
    config = load(**env, PLATFORM_LDAP_BIND_PASSWORD=secrets.token_hex(8))
    assert config["AUTH_LDAP_USE_TLS"] is False


def test_ldap_without_bind_password_stops_with_its_name(load) -> None:
    with pytest.raises(RuntimeError, match="PLATFORM_LDAP_BIND_PASSWORD must be set"):
        load(**LDAP_ENV)


def test_oauth_google_and_generic_oidc(load, fab: Any) -> None:
    google_secret, oidc_secret = secrets.token_hex(8), secrets.token_hex(8)
    config = load(
        PLATFORM_AUTH_TYPE="oauth",
        PLATFORM_OAUTH_GOOGLE_CLIENT_ID="google-client",
        PLATFORM_OAUTH_GOOGLE_CLIENT_SECRET=google_secret,
        PLATFORM_OAUTH_GOOGLE_DOMAIN="acme.example",
        PLATFORM_OIDC_NAME="acme-sso",
        PLATFORM_OIDC_CLIENT_ID="airflow",
        PLATFORM_OIDC_CLIENT_SECRET=oidc_secret,
        PLATFORM_OIDC_METADATA_URL="https://sso.acme.example/.well-known/openid-configuration",
    )
    assert config["AUTH_TYPE"] == fab.const.AUTH_OAUTH
    providers = {provider["name"]: provider["remote_app"] for provider in config["OAUTH_PROVIDERS"]}
    assert set(providers) == {"google", "acme-sso"}
    assert providers["google"]["client_secret"] == google_secret
    assert providers["google"]["authorize_params"] == {"hd": "acme.example"}
    assert providers["acme-sso"]["client_secret"] == oidc_secret
    assert providers["acme-sso"]["server_metadata_url"].endswith("/.well-known/openid-configuration")
    assert config["AUTH_ROLES_MAPPING"]["ml-engineers"] == ["MLEngineer"]
    assert config["AUTH_ROLES_MAPPING"]["airflow-admins"] == ["Admin"]


def test_oauth_without_a_provider_stops(load) -> None:
    with pytest.raises(
        RuntimeError, match="needs PLATFORM_OAUTH_GOOGLE_CLIENT_ID or PLATFORM_OIDC_CLIENT_ID"
    ):
        load(PLATFORM_AUTH_TYPE="oauth")


def test_oidc_client_without_secret_stops(load) -> None:
    with pytest.raises(RuntimeError, match="PLATFORM_OIDC_CLIENT_SECRET must be set"):
        load(PLATFORM_AUTH_TYPE="oauth", PLATFORM_OIDC_CLIENT_ID="airflow")


def test_roles_mapping_can_be_replaced(load) -> None:
    mapping = {"cn=data-science,ou=teams,dc=acme,dc=example": ["MLEngineer", "Viewer"]}
    config = load(
        **LDAP_ENV,
        PLATFORM_LDAP_BIND_PASSWORD=secrets.token_hex(8),
        PLATFORM_AUTH_ROLES_MAPPING=json.dumps(mapping),
    )
    assert config["AUTH_ROLES_MAPPING"] == mapping


def test_unknown_auth_type_stops(load) -> None:
    with pytest.raises(RuntimeError, match="PLATFORM_AUTH_TYPE must be one of"):
        load(PLATFORM_AUTH_TYPE="saml")


def test_only_the_model_approver_role_answers_approvals(load) -> None:
    config = load()
    roles = {role["role"]: set(role["perms"]) for role in config["PlatformSecurityManager"].ROLE_CONFIGS}
    answer = ("can_edit", "HITL Detail")
    assert [name for name, perms in roles.items() if answer in perms] == ["Admin", "ModelApprover"]
    approver = roles["ModelApprover"]
    assert ("can_edit", "DAG:enterprise_ml_pipeline") in approver
    assert ("can_edit", "DAGs") not in approver, "approving is no licence to edit every DAG"
    assert not any(action == "can_create" for action, _ in approver), "approvers trigger and create nothing"
    assert ("can_read", "HITL Detail") in roles["Viewer"], "everyone who reads runs sees the approval"
