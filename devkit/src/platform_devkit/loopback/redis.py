"""Redis on loopback: ``redis-server`` with a generated password and no persistence."""

from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import quote, urlsplit

from platform_devkit.loopback.base import ManagedProcess, free_port, require_program

if TYPE_CHECKING:
    import redis


ENV_URL = "PLATFORM_REDIS_URL"
INSTALL_HINT = "apt-get install redis-server (Debian 12)"


@dataclass
class RedisService:
    """A running Redis server."""

    host: str
    port: int
    password: str = field(repr=False)
    process: ManagedProcess | None = field(default=None, repr=False)
    data_dir: Path | None = None

    @property
    def url(self) -> str:
        """The ``redis://`` URL of database 0, password included."""
        auth = f":{quote(self.password)}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    def client(self) -> redis.Redis:
        """Return a ``redis.Redis`` client."""
        import redis

        return redis.Redis(host=self.host, port=self.port, password=self.password or None)

    def stop(self) -> None:
        """Stop the server (if this object started it) and remove its directory."""
        if self.process is not None:
            self.process.stop()
        if self.data_dir is not None:
            shutil.rmtree(self.data_dir, ignore_errors=True)


def start_redis(*, timeout: float = 30.0) -> RedisService:
    """Start ``redis-server`` on a free port, or use the server ``PLATFORM_REDIS_URL`` names."""
    if os.environ.get(ENV_URL):
        parts = urlsplit(os.environ[ENV_URL])
        return RedisService(
            host=parts.hostname or "127.0.0.1", port=parts.port or 6379, password=parts.password or ""
        )
    program = require_program("redis-server", hint=INSTALL_HINT)
    data_dir = Path(tempfile.mkdtemp(prefix="platform-redis-"))
    port = free_port()
    password = secrets.token_hex(16)
    config = data_dir / "redis.conf"
    config.write_text(
        f'port {port}\nbind 127.0.0.1\ndir {data_dir}\nsave ""\nappendonly no\nrequirepass {password}\n'
    )
    config.chmod(0o600)
    process = ManagedProcess("redis-server", [program, str(config)], log_path=data_dir / "redis.log").start()
    service = RedisService(host="127.0.0.1", port=port, password=password, process=process, data_dir=data_dir)
    process.wait_until(lambda: bool(service.client().ping()), timeout=timeout, what="PING")
    return service
