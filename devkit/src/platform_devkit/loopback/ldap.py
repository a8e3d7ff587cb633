# pyright: reportAttributeAccessIssue=false
# (python-ldap's constants and errors come from its C extension, which pyright cannot see)
"""OpenLDAP on loopback: ``slapd`` with a small test directory of people in groups.

The directory mirrors what the FAB LDAP login expects from a corporate server: people under
``ou=people``, ``groupOfNames`` groups under ``ou=groups`` (the ``memberof`` overlay maintains each
person's ``memberOf``), a read-only service account for the search bind, and passwords readable by
nobody (``auth`` only). Every password is generated per start.

Unlike the other loopback services, OpenLDAP has no external-endpoint mode: the pipeline's test
container runs ``slapd`` itself, as a developer machine does (``scripts/setup`` installs it).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import ldap
import ldap.modlist
from ldap.ldapobject import LDAPObject

from platform_devkit.loopback.base import ManagedProcess, ServiceError, free_port, require_program

INSTALL_HINT = "apt-get install slapd ldap-utils (Debian 12)"
DEFAULT_BASE_DN = "dc=platform,dc=test"
SCHEMA_DIR = Path("/etc/ldap/schema")
MODULE_DIR = Path("/usr/lib/ldap")
SCHEMAS = ("core", "cosine", "inetorgperson", "nis")

# group common name -> members (uids); the Airflow role mapping is keyed on these groups' DNs
TEST_GROUPS: dict[str, tuple[str, ...]] = {
    "airflow-admins": ("ada",),
    "airflow-ops": ("otto",),
    "airflow-users": ("uma",),
    "airflow-viewers": ("vic",),
    "ml-engineers": ("mira",),
}
TEST_PEOPLE: dict[str, tuple[str, str]] = {
    "ada": ("Ada", "Admin"),
    "otto": ("Otto", "Operator"),
    "uma": ("Uma", "User"),
    "vic": ("Vic", "Viewer"),
    "mira": ("Mira", "Engineer"),
    "nogroup": ("Nora", "Nogroup"),
}


def ssha(password: str) -> str:
    """Return the ``{SSHA}`` hash of ``password`` as slapd stores it."""
    salt = secrets.token_bytes(8)
    digest = hashlib.sha1(password.encode() + salt, usedforsecurity=False).digest()
    return "{SSHA}" + base64.b64encode(digest + salt).decode()


@dataclass
class LdapServer:
    """A running LDAP server holding the test directory."""

    url: str
    base_dn: str
    admin_dn: str
    admin_password: str = field(repr=False)
    bind_dn: str
    bind_password: str = field(repr=False)
    passwords: dict[str, str] = field(default_factory=dict, repr=False)
    process: ManagedProcess | None = field(default=None, repr=False)
    data_dir: Path | None = None

    @property
    def people_dn(self) -> str:
        """The DN under which people live (the login search base)."""
        return f"ou=people,{self.base_dn}"

    @property
    def groups_dn(self) -> str:
        """The DN under which groups live."""
        return f"ou=groups,{self.base_dn}"

    def group_dn(self, name: str) -> str:
        """Return the DN of test group ``name``."""
        return f"cn={name},{self.groups_dn}"

    def user_dn(self, uid: str) -> str:
        """Return the DN of test person ``uid``."""
        return f"uid={uid},{self.people_dn}"

    def connect(self, who: str | None = None, password: str | None = None) -> LDAPObject:
        """Return a connection bound as ``who`` (default: the administrator)."""
        con = ldap.initialize(self.url)
        con.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        con.simple_bind_s(who or self.admin_dn, password if who else self.admin_password)
        return con

    def stop(self) -> None:
        """Stop the server (if this object started it) and remove its directory."""
        if self.process is not None:
            self.process.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def _slapd_conf(data_dir: Path, base_dn: str, admin_dn: str, admin_password: str) -> str:
    includes = "\n".join(f"include {SCHEMA_DIR / name}.schema" for name in SCHEMAS)
    return f"""{includes}
pidfile {data_dir / "slapd.pid"}
argsfile {data_dir / "slapd.args"}
modulepath {MODULE_DIR}
moduleload back_mdb
moduleload memberof

database mdb
maxsize 67108864
suffix "{base_dn}"
rootdn "{admin_dn}"
rootpw {ssha(admin_password)}
directory {data_dir / "db"}
index objectClass,uid,member eq

overlay memberof
memberof-group-oc groupOfNames
memberof-member-ad member
memberof-memberof-ad memberOf
memberof-refint true

access to attrs=userPassword
    by self write
    by anonymous auth
    by * none
access to *
    by users read
    by * none
"""


def _entries(server: LdapServer) -> list[tuple[str, dict[str, list[bytes]]]]:
    def attrs(**values: str | list[str]) -> dict[str, list[bytes]]:
        return {
            key: [v.encode() for v in (value if isinstance(value, list) else [value])]
            for key, value in values.items()
        }

    top = server.base_dn.split(",")[0].split("=", 1)[1]
    entries = [
        (server.base_dn, attrs(objectClass=["top", "dcObject", "organization"], dc=top, o="Platform")),
        (server.people_dn, attrs(objectClass="organizationalUnit", ou="people")),
        (server.groups_dn, attrs(objectClass="organizationalUnit", ou="groups")),
        (
            server.bind_dn,
            attrs(
                objectClass=["organizationalRole", "simpleSecurityObject"],
                cn="airflow-bind",
                userPassword=ssha(server.bind_password),
            ),
        ),
    ]
    for uid, (first, last) in TEST_PEOPLE.items():
        entries.append(
            (
                server.user_dn(uid),
                attrs(
                    objectClass="inetOrgPerson",
                    uid=uid,
                    cn=f"{first} {last}",
                    givenName=first,
                    sn=last,
                    mail=f"{uid}@platform.test",
                    userPassword=ssha(server.passwords[uid]),
                ),
            )
        )
    for name, members in TEST_GROUPS.items():
        entries.append(
            (
                server.group_dn(name),
                attrs(objectClass="groupOfNames", cn=name, member=[server.user_dn(uid) for uid in members]),
            )
        )
    return entries


def load_test_directory(server: LdapServer) -> None:
    """(Re)create the test directory on ``server``: people first, then groups (so ``memberOf`` is set)."""
    con = server.connect()
    try:
        entries = _entries(server)
        containers = {server.base_dn, server.people_dn, server.groups_dn}
        # leaves are replaced; containers are kept (deleting a missing suffix crashes slapd 2.5's memberof)
        for dn, _ in reversed(entries):
            if dn not in containers and _exists(con, dn):
                con.delete_s(dn)
        for dn, attributes in entries:
            if dn not in containers or not _exists(con, dn):
                con.add_s(dn, ldap.modlist.addModlist(attributes))
    finally:
        con.unbind_s()


def _exists(con: LDAPObject, dn: str) -> bool:
    try:
        return bool(con.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["1.1"]))
    except ldap.NO_SUCH_OBJECT:
        return False


def _new_server(url: str, base_dn: str, admin_dn: str, admin_password: str) -> LdapServer:
    return LdapServer(
        url=url,
        base_dn=base_dn,
        admin_dn=admin_dn,
        admin_password=admin_password,
        bind_dn=f"cn=airflow-bind,{base_dn}",
        bind_password=secrets.token_hex(12),
        passwords={uid: secrets.token_hex(12) for uid in TEST_PEOPLE},
    )


def _answers(url: str) -> bool:
    con = ldap.initialize(url)
    con.set_option(ldap.OPT_NETWORK_TIMEOUT, 1)
    try:
        con.simple_bind_s("", "")
        con.search_s("", ldap.SCOPE_BASE, "(objectClass=*)", ["namingContexts"])
    finally:
        con.unbind_s()
    return True


def start_ldap(*, timeout: float = 30.0) -> LdapServer:
    """Start ``slapd`` on a free loopback port with the test directory loaded."""
    program = require_program("slapd", hint=INSTALL_HINT, search=["/usr/sbin"])
    if not (MODULE_DIR / "memberof.la").exists():
        raise ServiceError(f"slapd's memberof module is missing from {MODULE_DIR}: {INSTALL_HINT}")
    data_dir = Path(tempfile.mkdtemp(prefix="platform-ldap-"))
    (data_dir / "db").mkdir()
    port = free_port()
    server = _new_server(
        f"ldap://127.0.0.1:{port}", DEFAULT_BASE_DN, f"cn=admin,{DEFAULT_BASE_DN}", secrets.token_hex(16)
    )
    server.data_dir = data_dir
    config = data_dir / "slapd.conf"
    config.write_text(_slapd_conf(data_dir, server.base_dn, server.admin_dn, server.admin_password))
    config.chmod(0o600)
    argv = [program, "-d", "0", "-h", f"{server.url}/", "-f", str(config)]
    server.process = ManagedProcess("slapd", argv, log_path=data_dir / "slapd.log").start()
    try:
        server.process.wait_until(lambda: _answers(server.url), timeout=timeout, what="an anonymous bind")
        load_test_directory(server)
    except BaseException:
        server.stop()
        raise
    return server
