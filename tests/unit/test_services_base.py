"""Service launchers' process handling: failures carry the log tail, missing programs say what to install."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from platform_devkit.loopback.base import (
    ManagedProcess,
    MissingDependencyError,
    ServiceError,
    free_port,
    poll,
    port_open,
    require_program,
)


def test_a_process_that_dies_reports_its_log_tail(tmp_path: Path) -> None:
    script = "import sys; print('FATAL: data directory is corrupt', flush=True); sys.exit(3)"
    process = ManagedProcess("fake-db", [sys.executable, "-c", script], log_path=tmp_path / "db.log").start()
    with pytest.raises(ServiceError) as error:
        process.wait_until(lambda: False, timeout=30, what="a connection")
    message = str(error.value)
    assert "fake-db exited (code 3) before a connection" in message
    assert "FATAL: data directory is corrupt" in message


def test_a_process_that_never_answers_is_stopped_and_reports_its_log(tmp_path: Path) -> None:
    script = "import time; print('listening soon', flush=True); time.sleep(60)"
    process = ManagedProcess("slow", [sys.executable, "-c", script], log_path=tmp_path / "slow.log").start()
    with pytest.raises(ServiceError) as error:
        process.wait_until(lambda: False, timeout=1, what="GET /health", interval=0.1)
    assert "slow did not answer (GET /health) within 1s" in str(error.value)
    assert "listening soon" in str(error.value)
    assert not process.running()


def test_a_failing_one_shot_command_reports_its_log_tail(tmp_path: Path) -> None:
    script = "import sys; print('initdb: invalid locale', flush=True); sys.exit(1)"
    process = ManagedProcess("initdb", [sys.executable, "-c", script], log_path=tmp_path / "init.log").start()
    with pytest.raises(ServiceError) as error:
        process.wait_for_exit(timeout=30)
    assert "initdb failed (code 1)" in str(error.value)
    assert "initdb: invalid locale" in str(error.value)


def test_a_stopped_process_can_start_again_on_the_same_port(tmp_path: Path) -> None:
    port = free_port()
    script = (
        "import sys; from http.server import HTTPServer, BaseHTTPRequestHandler as Handler; "
        "HTTPServer(('127.0.0.1', int(sys.argv[1])), Handler).serve_forever()"
    )
    process = ManagedProcess(
        "http", [sys.executable, "-c", script, str(port)], log_path=tmp_path / "http.log"
    )
    for _ in range(2):
        process.start()
        process.wait_until(lambda: port_open("127.0.0.1", port), timeout=30, what="a TCP connection")
        process.stop()
        assert not process.running()


def test_a_missing_program_names_what_to_install() -> None:
    with pytest.raises(MissingDependencyError, match="'no-such-server' is not installed: apt-get install x"):
        require_program("no-such-server", hint="apt-get install x")


def test_extra_search_directories_come_first(tmp_path: Path) -> None:
    program = tmp_path / "postgres"
    program.write_text("#!/bin/sh\n")
    program.chmod(0o755)
    assert require_program("postgres", hint="-", search=[str(tmp_path)]) == str(program)


def test_poll_returns_the_first_value_that_holds() -> None:
    values = iter([0, 0, 3])
    assert poll(lambda: next(values), timeout=5, interval=0, failure=str) == 3


def test_poll_fails_with_the_last_value_once_the_timeout_has_passed() -> None:
    calls: list[int] = []

    def probe() -> int:
        calls.append(len(calls))
        return 0

    with pytest.raises(AssertionError, match="still 0"):
        poll(probe, timeout=0.05, interval=0.01, failure=lambda value: f"still {value}", error=AssertionError)
    assert len(calls) >= 2
