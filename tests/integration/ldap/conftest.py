"""The OpenLDAP server (Debian ``slapd``) holding the test directory, started once per session."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from platform_devkit.loopback.ldap import LdapServer, start_ldap


@pytest.fixture(scope="session")
def ldap_server() -> Iterator[LdapServer]:
    """A real LDAP server with people in groups; its passwords are generated for this session."""
    server = start_ldap()
    try:
        yield server
    finally:
        server.stop()
