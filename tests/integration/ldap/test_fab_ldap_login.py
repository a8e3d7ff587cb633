"""FAB's LDAP login with our webserver_config.py against a real OpenLDAP server.

The login runs in a fresh interpreter (see ``fab_ldap_login.py``) on a throw-away sqlite metadata
database, exactly as the api-server's FAB app would: search bind with the service account, user bind,
``memberOf`` groups mapped to roles through ``AUTH_ROLES_MAPPING``.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from platform_devkit.loopback.ldap import LdapServer

REPO = Path(__file__).resolve().parents[3]
WEBSERVER_CONFIG = REPO / "helm" / "webserver_config.py"
DRIVER = Path(__file__).with_name("fab_ldap_login.py")


def _scratch_dir() -> Path:
    # sqlite commits are fsync-bound; tmpfs keeps the role sync to ~2 s instead of ~20 s
    shm = Path("/dev/shm")
    return Path(tempfile.mkdtemp(prefix="fab-ldap-", dir=shm if shm.is_dir() else None))


@pytest.fixture(scope="module")
def logins(ldap_server: LdapServer) -> dict[str, dict]:
    """Attempt every login case once (one Airflow start) and index the outcomes by case name."""
    cases = {
        "ml_engineer": ("mira", ldap_server.passwords["mira"]),
        "admin": ("ada", ldap_server.passwords["ada"]),
        "no_group": ("nogroup", ldap_server.passwords["nogroup"]),
        "wrong_password": ("otto", secrets.token_hex(8)),
        "unknown_user": ("ghost", secrets.token_hex(8)),
        "empty_password": ("uma", ""),
    }
    home = _scratch_dir()
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(home),
        "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home}/airflow.db",
        "AIRFLOW__CORE__AUTH_MANAGER": "airflow.providers.fab.auth_manager.fab_auth_manager.FabAuthManager",
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__FAB__CONFIG_FILE": str(WEBSERVER_CONFIG),
        "AIRFLOW__FAB__UPDATE_FAB_PERMS": "False",
        "AIRFLOW__API__SECRET_KEY": secrets.token_hex(16),
        "PLATFORM_AUTH_TYPE": "ldap",
        "PLATFORM_LDAP_SERVER": ldap_server.url,
        "PLATFORM_LDAP_USE_TLS": "false",
        "PLATFORM_LDAP_BIND_DN": ldap_server.bind_dn,
        "PLATFORM_LDAP_BIND_PASSWORD": ldap_server.bind_password,
        "PLATFORM_LDAP_SEARCH_BASE": ldap_server.people_dn,
        "PLATFORM_LDAP_GROUP_BASE": ldap_server.groups_dn,
    }
    result_path = home / "result.json"
    attempts = [{"username": user, "password": password} for user, password in cases.values()]
    try:
        run = subprocess.run(
            [sys.executable, str(DRIVER), str(result_path)],
            input=json.dumps(attempts),
            capture_output=True,
            text=True,
            env=env,
            timeout=180,
            check=False,
        )
        assert run.returncode == 0, run.stderr[-4000:]
        result = json.loads(result_path.read_text())
    finally:
        shutil.rmtree(home, ignore_errors=True)
    assert result["security_manager"] == "PlatformSecurityManager"
    return dict(zip(cases, result["attempts"], strict=True))


def test_ml_group_member_gets_the_platform_role(logins: dict[str, dict]) -> None:
    outcome = logins["ml_engineer"]
    assert outcome["authenticated"]
    assert "MLEngineer" in outcome["roles"]
    assert not {"Admin", "Op"} & set(outcome["roles"])
    assert outcome["email"] == "mira@platform.test"


def test_admin_group_member_gets_admin(logins: dict[str, dict]) -> None:
    assert logins["admin"]["authenticated"]
    assert "Admin" in logins["admin"]["roles"]


def test_user_outside_every_group_gets_no_permissions_role(logins: dict[str, dict]) -> None:
    assert logins["no_group"]["authenticated"]
    assert logins["no_group"]["roles"] == ["Public"]


@pytest.mark.parametrize("case", ["wrong_password", "unknown_user", "empty_password"])
def test_bad_credentials_are_refused(logins: dict[str, dict], case: str) -> None:
    assert not logins[case]["authenticated"]
    assert logins[case]["roles"] == []
