"""FAB auth manager configuration for the Airflow 3 api-server (mounted via ``apiServer.apiServerConfig``).

One file for every environment: ``PLATFORM_AUTH_TYPE`` (``db``, ``oauth`` or ``ldap``) picks the
authentication method, and every endpoint, identifier and credential comes from the environment
(credentials from Kubernetes Secrets, see ``helm/SECRETS.md``). A required variable that is missing
stops the api-server at start with its name, rather than falling back to something unsafe.

Roles: FAB's Admin / Op / User / Viewer / Public plus ``MLEngineer`` (run and operate DAGs, manage
Variables and XComs, read Connections and Pools) and ``ModelApprover`` (a Viewer who may answer the
human-in-the-loop approvals of the DAGs in ``APPROVAL_DAGS``), kept in sync by
:class:`PlatformSecurityManager`. Answering an approval is the ``ModelApprover`` role's alone (and
Admin's, which holds every permission): User, Op and MLEngineer may read approvals, not answer them.
Directory groups map to roles through ``AUTH_ROLES_MAPPING``; roles are re-synced at every login.
"""

from __future__ import annotations

import json
import os
from typing import Any, ClassVar

from airflow.providers.fab.auth_manager.security_manager.override import FabAirflowSecurityManagerOverride
from airflow.providers.fab.www.security import permissions
from flask_appbuilder.const import AUTH_DB, AUTH_LDAP, AUTH_OAUTH

ML_ENGINEER_ROLE = "MLEngineer"
MODEL_APPROVER_ROLE = "ModelApprover"
APPROVAL_DAGS = ("enterprise_ml_pipeline",)
"""The DAGs whose approvals ModelApprover answers (answering needs ``can_edit`` on the DAG too)."""

# directory group (common name / OIDC "groups" claim value) -> Airflow role
GROUP_ROLES: dict[str, str] = {
    "airflow-admins": "Admin",
    "airflow-ops": "Op",
    "airflow-users": "User",
    "airflow-viewers": "Viewer",
    "ml-engineers": ML_ENGINEER_ROLE,
    "model-approvers": MODEL_APPROVER_ROLE,
}

ML_ENGINEER_EXTRA_PERMISSIONS = [
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_ADMIN_MENU),
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_VARIABLE),
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_XCOM),
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_POOL),
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_CONNECTION),
    (permissions.ACTION_CAN_CREATE, permissions.RESOURCE_VARIABLE),
    (permissions.ACTION_CAN_READ, permissions.RESOURCE_VARIABLE),
    (permissions.ACTION_CAN_EDIT, permissions.RESOURCE_VARIABLE),
    (permissions.ACTION_CAN_DELETE, permissions.RESOURCE_VARIABLE),
    (permissions.ACTION_CAN_CREATE, permissions.RESOURCE_XCOM),
    (permissions.ACTION_CAN_EDIT, permissions.RESOURCE_XCOM),
    (permissions.ACTION_CAN_DELETE, permissions.RESOURCE_XCOM),
    (permissions.ACTION_CAN_READ, permissions.RESOURCE_CONNECTION),
    (permissions.ACTION_CAN_READ, permissions.RESOURCE_POOL),
]


ANSWER_APPROVALS = (permissions.ACTION_CAN_EDIT, permissions.RESOURCE_HITL_DETAIL)
"""The permission to answer a human-in-the-loop task (with ``can_edit`` on its DAG)."""
MODEL_APPROVER_EXTRA_PERMISSIONS = [
    ANSWER_APPROVALS,
    (permissions.ACTION_CAN_ACCESS_MENU, permissions.RESOURCE_HITL_DETAIL),
    *(
        (permissions.ACTION_CAN_EDIT, permissions.resource_name(dag_id, permissions.RESOURCE_DAG))
        for dag_id in APPROVAL_DAGS
    ),
]
ROLES_THAT_MAY_NOT_ANSWER = ("User", "Op", ML_ENGINEER_ROLE)


def _without_answering(role_config: dict[str, Any]) -> dict[str, Any]:
    if role_config["role"] not in ROLES_THAT_MAY_NOT_ANSWER:
        return role_config
    return {**role_config, "perms": [perm for perm in role_config["perms"] if perm != ANSWER_APPROVALS]}


class PlatformSecurityManager(FabAirflowSecurityManagerOverride):
    """FAB's Airflow security manager with the platform's roles: ML engineers and model approvers."""

    ROLE_CONFIGS: ClassVar[list[dict[str, Any]]] = [
        _without_answering(config)
        for config in [
            *FabAirflowSecurityManagerOverride.ROLE_CONFIGS,
            {
                "role": ML_ENGINEER_ROLE,
                "perms": [
                    *FabAirflowSecurityManagerOverride.VIEWER_PERMISSIONS,
                    *FabAirflowSecurityManagerOverride.USER_PERMISSIONS,
                    *ML_ENGINEER_EXTRA_PERMISSIONS,
                ],
            },
            {
                "role": MODEL_APPROVER_ROLE,
                "perms": [
                    *FabAirflowSecurityManagerOverride.VIEWER_PERMISSIONS,
                    *MODEL_APPROVER_EXTRA_PERMISSIONS,
                ],
            },
        ]
    ]

    def sync_roles(self) -> None:
        """Sync the roles, then take the answering of approvals from the roles that may not answer.

        FAB's sync only ever adds permissions, so a database whose User or Op role once got it from
        FAB's defaults keeps it unless it is revoked here.
        """
        super().sync_roles()
        answer = self.get_permission(*ANSWER_APPROVALS)
        for name in ROLES_THAT_MAY_NOT_ANSWER:
            role = self.find_role(name)
            if role is not None and answer is not None and answer in role.permissions:
                self.remove_permission_from_role(role, answer)


class MissingAuthSettingError(RuntimeError):
    """A setting the selected authentication method needs is not in the environment."""


def _require(name: str) -> str:
    value = os.environ.get(name, "").strip()
    if not value:
        raise MissingAuthSettingError(
            f"{name} must be set when PLATFORM_AUTH_TYPE={os.environ.get('PLATFORM_AUTH_TYPE', 'db')}"
        )
    return value


def _flag(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None or not value.strip():
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _roles_mapping(key_format: str) -> dict[str, list[str]]:
    """Map each directory group to its role; ``PLATFORM_AUTH_ROLES_MAPPING`` (JSON) replaces the table."""
    override = os.environ.get("PLATFORM_AUTH_ROLES_MAPPING", "").strip()
    if override:
        return {key: list(roles) for key, roles in json.loads(override).items()}
    return {key_format.format(group=group): [role] for group, role in GROUP_ROLES.items()}


def _oauth_providers() -> list[dict[str, Any]]:
    providers = []
    if os.environ.get("PLATFORM_OAUTH_GOOGLE_CLIENT_ID"):
        authorize_params = {}
        if os.environ.get("PLATFORM_OAUTH_GOOGLE_DOMAIN"):
            authorize_params["hd"] = os.environ["PLATFORM_OAUTH_GOOGLE_DOMAIN"]
        providers.append(
            {
                "name": "google",
                "icon": "fa-google",
                "token_key": "access_token",
                "remote_app": {
                    "client_id": os.environ["PLATFORM_OAUTH_GOOGLE_CLIENT_ID"],
                    "client_secret": _require("PLATFORM_OAUTH_GOOGLE_CLIENT_SECRET"),
                    "api_base_url": "https://www.googleapis.com/oauth2/v2/",
                    "server_metadata_url": "https://accounts.google.com/.well-known/openid-configuration",
                    "client_kwargs": {"scope": "openid email profile"},
                    "authorize_params": authorize_params,
                },
            }
        )
    if os.environ.get("PLATFORM_OIDC_CLIENT_ID"):
        # A provider name FAB does not special-case: user info (and the "groups" claim) come from
        # the provider's OIDC userinfo endpoint, found through its discovery document.
        providers.append(
            {
                "name": os.environ.get("PLATFORM_OIDC_NAME", "oidc"),
                "icon": "fa-key",
                "token_key": "access_token",
                "remote_app": {
                    "client_id": os.environ["PLATFORM_OIDC_CLIENT_ID"],
                    "client_secret": _require("PLATFORM_OIDC_CLIENT_SECRET"),
                    "server_metadata_url": _require("PLATFORM_OIDC_METADATA_URL"),
                    "client_kwargs": {"scope": "openid email profile groups"},
                },
            }
        )
    if not providers:
        raise MissingAuthSettingError(
            "PLATFORM_AUTH_TYPE=oauth needs PLATFORM_OAUTH_GOOGLE_CLIENT_ID or PLATFORM_OIDC_CLIENT_ID"
        )
    return providers


AUTH_TYPES = {"db": AUTH_DB, "oauth": AUTH_OAUTH, "ldap": AUTH_LDAP}
_auth_name = os.environ.get("PLATFORM_AUTH_TYPE", "db").strip().lower() or "db"
if _auth_name not in AUTH_TYPES:
    raise MissingAuthSettingError(
        f"PLATFORM_AUTH_TYPE must be one of {sorted(AUTH_TYPES)}, not {_auth_name!r}"
    )

SECURITY_MANAGER_CLASS = PlatformSecurityManager
WTF_CSRF_ENABLED = True
WTF_CSRF_TIME_LIMIT = None
AUTH_TYPE = AUTH_TYPES[_auth_name]
AUTH_ROLE_ADMIN = "Admin"
AUTH_ROLES_SYNC_AT_LOGIN = True
# Who may see nothing by default: a directory user outside every mapped group gets only "Public".
AUTH_USER_REGISTRATION = _auth_name != "db"
AUTH_USER_REGISTRATION_ROLE = os.environ.get("PLATFORM_AUTH_REGISTRATION_ROLE", "Public")

if AUTH_TYPE == AUTH_OAUTH:
    OAUTH_PROVIDERS = _oauth_providers()
    AUTH_ROLES_MAPPING = _roles_mapping("{group}")

if AUTH_TYPE == AUTH_LDAP:
    AUTH_LDAP_SERVER = _require("PLATFORM_LDAP_SERVER")
    AUTH_LDAP_USE_TLS = _flag("PLATFORM_LDAP_USE_TLS", default=not AUTH_LDAP_SERVER.startswith("ldaps://"))
    AUTH_LDAP_TLS_DEMAND = True
    AUTH_LDAP_ALLOW_SELF_SIGNED = False
    AUTH_LDAP_TLS_CACERTFILE = os.environ.get("PLATFORM_LDAP_TLS_CACERTFILE", "")
    AUTH_LDAP_BIND_USER = _require("PLATFORM_LDAP_BIND_DN")
    AUTH_LDAP_BIND_PASSWORD = _require("PLATFORM_LDAP_BIND_PASSWORD")
    AUTH_LDAP_SEARCH = _require("PLATFORM_LDAP_SEARCH_BASE")
    AUTH_LDAP_SEARCH_FILTER = os.environ.get("PLATFORM_LDAP_SEARCH_FILTER", "")
    AUTH_LDAP_UID_FIELD = os.environ.get("PLATFORM_LDAP_UID_FIELD", "uid")
    AUTH_LDAP_GROUP_FIELD = os.environ.get("PLATFORM_LDAP_GROUP_FIELD", "memberOf")
    AUTH_LDAP_FIRSTNAME_FIELD = "givenName"
    AUTH_LDAP_LASTNAME_FIELD = "sn"
    AUTH_LDAP_EMAIL_FIELD = "mail"
    AUTH_ROLES_MAPPING = _roles_mapping("cn={group}," + _require("PLATFORM_LDAP_GROUP_BASE"))
