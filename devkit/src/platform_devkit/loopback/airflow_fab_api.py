"""The two FAB auth manager endpoints the official API client does not cover, over plain HTTP.

``apache-airflow-client`` is generated from Airflow's public API (``/api/v2``). The FAB auth manager
serves its own endpoints beside it, outside that specification: ``POST /auth/token`` (a JWT for a user
and password) and ``POST /auth/fab/v1/users`` (create a user with a role). This module is the whole of
the hand-written HTTP for them; everything under ``/api/v2`` goes through the official client
(:mod:`platform_devkit.loopback.airflow_rest`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import httpx

from platform_devkit.loopback.base import ServiceError

TIMEOUT = 30.0


@dataclass(frozen=True)
class Credentials:
    """A FAB user's login."""

    username: str
    password: str = field(repr=False)


def fab_token(api_url: str, credentials: Credentials) -> str:
    """Return a JWT for a user from the FAB auth manager's ``POST /auth/token``.

    Raises:
        ServiceError: The api-server did not issue one (wrong password, unknown user).
    """
    response = httpx.post(
        f"{api_url}/auth/token",
        json={"username": credentials.username, "password": credentials.password},
        timeout=TIMEOUT,
    )
    if response.status_code != 201:
        raise ServiceError(f"POST /auth/token for {credentials.username!r} answered {response.status_code}")
    return str(response.json()["access_token"])


def create_fab_user(api_url: str, admin_token: str, role: str, credentials: Credentials) -> None:
    """Create a user holding ``role`` through FAB's ``POST /auth/fab/v1/users``, as an Admin.

    Raises:
        ServiceError: FAB refused the user; the message has its answer (never the password).
    """
    response = httpx.post(
        f"{api_url}/auth/fab/v1/users",
        headers={"Authorization": f"Bearer {admin_token}"},
        json={
            "username": credentials.username,
            "email": f"{credentials.username}@platform.test",
            "first_name": role,
            "last_name": "User",
            "roles": [{"name": role}],
            "password": credentials.password,
        },
        timeout=TIMEOUT,
    )
    if response.status_code not in (200, 201):
        raise ServiceError(f"creating the {role} user failed: {response.status_code} {response.text}")
