"""secret-scan: a new credential-looking string fails, naming file and line; the baseline stays audited."""

from __future__ import annotations

import json
import secrets
from pathlib import Path

import pytest

from platform_devkit import secret_scan


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A small source tree without any credential."""
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "settings.py").write_text('"""Settings."""\n\nTIMEOUT = 30\n')
    return tmp_path


def leak(tree: Path) -> str:
    """Write a fresh GitHub token into a new file of ``tree`` and return it."""
    token = "ghp_" + secrets.token_hex(18)
    (tree / "app" / "client.py").write_text(f'"""Client."""\n\nTOKEN = "{token}"\n')
    return token


def test_a_clean_tree_passes(tree: Path) -> None:
    secret_scan.update(tree, tree / secret_scan.BASELINE)
    assert secret_scan.check(tree, tree / secret_scan.BASELINE) == []


def test_a_new_credential_fails_naming_the_file_and_line(tree: Path, capsys) -> None:
    secret_scan.update(tree, tree / secret_scan.BASELINE)
    leak(tree)
    assert secret_scan.main(["--root", str(tree)]) == 1
    out = capsys.readouterr().out
    assert "app/client.py:3: GitHub Token: new credential-looking string" in out


def test_an_added_finding_must_be_audited_with_a_reason(tree: Path) -> None:
    leak(tree)
    assert secret_scan.update(tree, tree / secret_scan.BASELINE) >= 1
    (problem, *_) = secret_scan.check(tree, tree / secret_scan.BASELINE)
    assert "not audited" in problem.message
    baseline = json.loads((tree / secret_scan.BASELINE).read_text())
    for entries in baseline["results"].values():
        for entry in entries:
            entry["is_secret"] = False
    (tree / secret_scan.BASELINE).write_text(json.dumps(baseline))
    assert secret_scan.check(tree, tree / secret_scan.BASELINE), "an audit without a reason does not count"
    for entries in baseline["results"].values():
        for entry in entries:
            entry["reason"] = "a throw-away token of this test"
    (tree / secret_scan.BASELINE).write_text(json.dumps(baseline))
    assert secret_scan.check(tree, tree / secret_scan.BASELINE) == []


def test_an_update_keeps_audits_when_lines_move_and_drops_stale_ones(tree: Path) -> None:
    leak(tree)
    secret_scan.update(tree, tree / secret_scan.BASELINE)
    baseline = json.loads((tree / secret_scan.BASELINE).read_text())
    (entry,) = [e for entries in baseline["results"].values() for e in entries if e["type"] == "GitHub Token"]
    entry.update(is_secret=False, reason="a throw-away token of this test")
    (tree / secret_scan.BASELINE).write_text(json.dumps(baseline))
    client = tree / "app" / "client.py"
    client.write_text("# moved down\n" + client.read_text())
    assert secret_scan.update(tree, tree / secret_scan.BASELINE) == 0
    assert secret_scan.check(tree, tree / secret_scan.BASELINE) == []
    client.unlink()
    (stale,) = secret_scan.check(tree, tree / secret_scan.BASELINE)
    assert "no longer found" in stale.message


def test_local_state_is_not_scanned(tree: Path) -> None:
    for folder in (".venv", "app/__pycache__", "reports", ".git"):
        (tree / folder).mkdir(parents=True)
        (tree / folder / "x.py").write_text("x = 1\n")
    assert secret_scan.tracked_files(tree) == ["app/settings.py"]


def test_the_repository_baseline_is_fully_audited() -> None:
    from platform_devkit.repository import REPO_ROOT

    baseline = json.loads((REPO_ROOT / secret_scan.BASELINE).read_text())
    entries = [entry for entries in baseline["results"].values() for entry in entries]
    assert entries, "the scan finds the Secret references of helm/; an empty baseline means it did not run"
    assert all(entry["is_secret"] is False and entry["reason"].strip() for entry in entries)


def test_the_baseline_names_files_relative_to_the_tree(tree: Path) -> None:
    leak(tree)
    secret_scan.update(tree, tree / secret_scan.BASELINE)
    baseline = json.loads((tree / secret_scan.BASELINE).read_text())
    assert [entry["filename"] for entries in baseline["results"].values() for entry in entries] == [
        "app/client.py"
    ]
