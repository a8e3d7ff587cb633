"""Run FAB's LDAP login (``auth_user_ldap``) with helm/webserver_config.py, in a fresh interpreter.

The test starts this script with the Airflow and ``PLATFORM_LDAP_*`` settings in the environment, the
login attempts (username, password) as JSON on stdin, and a result path as its only argument. It
builds the api-server's FAB Flask app (``create_app``), syncs the roles as the api-server does at start,
attempts each login and writes the outcome as JSON to the result path: ``{"security_manager": <class
name>, "attempts": [{"username", "authenticated", "roles", "email"}]}``.
A separate interpreter keeps Airflow's auth-manager singleton and the sqlite database out of the test
session.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path


def main() -> None:
    """Attempt the logins read from stdin and write their outcomes to ``sys.argv[1]``."""
    from airflow.providers.fab.www.app import create_app

    attempts = json.load(sys.stdin)
    app = create_app(enable_plugins=False)
    results = []
    with app.app_context():
        security_manager = app.appbuilder.sm
        security_manager.sync_roles()
        for attempt in attempts:
            with app.test_request_context("/auth/login/"):
                user = security_manager.auth_user_ldap(
                    attempt["username"], attempt["password"], rotate_session_id=False
                )
                results.append(
                    {
                        "username": attempt["username"],
                        "authenticated": user is not None,
                        "roles": sorted(role.name for role in user.roles) if user else [],
                        "email": user.email if user else None,
                    }
                )
        manager = type(security_manager).__name__
    Path(sys.argv[1]).write_text(json.dumps({"security_manager": manager, "attempts": results}))


if __name__ == "__main__":
    main()
