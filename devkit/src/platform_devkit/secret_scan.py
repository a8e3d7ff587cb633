"""``secret-scan``: fail on any credential-looking string that the audited baseline does not explain.

detect-secrets finds the candidates; ``.secrets.baseline`` (detect-secrets' own format) lists the ones
already reviewed. Every listed finding must be audited as a false positive (``"is_secret": false``)
with a ``"reason"`` saying why it is not a credential. The scan fails, naming file and line, on:

- a finding the baseline does not list (a new credential-looking string),
- a listed finding that is not audited, or audited without a reason,
- a listed finding that is no longer in the tree (the baseline must stay true).

``secret-scan --update`` rewrites the baseline: it keeps every audit that still matches (a finding is
the same when its file, type and hashed secret are; line numbers follow the file), drops the stale
ones and adds new findings unaudited, for a reviewer to audit by hand.

The tree is walked the same way natively and in the lint container (which has no ``.git``): every
file under the root except the folders of local state the pipeline does not send to the engine.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detect_secrets import SecretsCollection
from detect_secrets.core.baseline import format_for_output
from detect_secrets.settings import default_settings, transient_settings

BASELINE = ".secrets.baseline"
SKIPPED_DIRS = frozenset({".git", ".venv", "__pycache__", ".ruff_cache", ".pytest_cache", ".mypy_cache"})
"""Folders of local state skipped at any depth."""
SKIPPED_TOP_LEVEL = frozenset({"reports", "rendered", "build", "dist"})
"""Folders of generated output skipped at the root."""
SKIPPED_PATHS = frozenset({"ci/sdk", BASELINE})
"""The engine's generated SDK, and the baseline itself (it holds hashes)."""
Findings = dict[str, list[dict[str, Any]]]
"""detect-secrets' findings by file (a baseline's ``results``)."""


@dataclass(frozen=True)
class Problem:
    """One reason the scan fails, at a place in a file."""

    path: str
    line: int
    kind: str
    message: str

    def render(self) -> str:
        """``path:line: kind: message``, the way compilers and linters report."""
        return f"{self.path}:{self.line}: {self.kind}: {self.message}"


def tracked_files(root: Path) -> list[str]:
    """Return every file to scan under ``root``, relative and sorted."""

    def walk(folder: Path) -> Iterator[Path]:
        for entry in sorted(folder.iterdir()):
            relative = entry.relative_to(root).as_posix()
            if relative in SKIPPED_PATHS:
                continue
            if entry.is_dir() and not entry.is_symlink():
                top_level = entry.parent == root and entry.name in SKIPPED_TOP_LEVEL
                if entry.name not in SKIPPED_DIRS and not top_level:
                    yield from walk(entry)
            elif entry.is_file():
                yield entry

    return [path.relative_to(root).as_posix() for path in walk(root)]


def _key(filename: str, entry: dict[str, Any]) -> tuple[str, str, str]:
    return filename, entry["type"], entry["hashed_secret"]


def _settings(baseline: dict[str, Any] | None) -> AbstractContextManager[Any]:
    """The baseline's plugins and filters, or detect-secrets' defaults without a baseline."""
    if baseline is None:
        return default_settings()
    return transient_settings({key: baseline[key] for key in ("plugins_used", "filters_used")})


def _scan(root: Path, baseline: dict[str, Any] | None) -> Findings:
    """Scan ``root`` with the settings of :func:`_settings`."""
    with _settings(baseline):
        collection = SecretsCollection(root=str(root))
        for filename in tracked_files(root):
            collection.scan_file(filename)
        return collection.json()


def _scan_against_baseline(
    root: Path, baseline_path: Path
) -> tuple[dict[str, Any] | None, Findings, dict[tuple[str, str, str], dict[str, Any]]]:
    """Load the baseline (``None`` if absent), scan ``root`` with its settings and index its findings.

    Returns the baseline, the scan's findings by file, and the baseline's findings by :func:`_key`.
    """
    baseline = json.loads(baseline_path.read_text()) if baseline_path.is_file() else None
    listed = {
        _key(filename, entry): entry
        for filename, entries in (baseline or {}).get("results", {}).items()
        for entry in entries
    }
    return baseline, _scan(root, baseline), listed


def check(root: Path, baseline_path: Path) -> list[Problem]:
    """Return every problem of the tree under ``root`` against the baseline at ``baseline_path``."""
    _, found, listed = _scan_against_baseline(root, baseline_path)
    problems = []
    current = set()
    for filename, entries in found.items():
        for entry in entries:
            key = _key(filename, entry)
            current.add(key)
            audit = listed.get(key)
            if audit is None:
                message = (
                    "new credential-looking string: remove it (use a Secret or a connection), or "
                    f"run 'secret-scan --update' and audit it in {BASELINE}"
                )
            elif audit.get("is_secret") is not False or not str(audit.get("reason", "")).strip():
                message = f'not audited: set "is_secret": false and a "reason" in {BASELINE}'
            else:
                continue
            problems.append(Problem(filename, entry["line_number"], entry["type"], message))
    for key, entry in listed.items():
        if key not in current:
            message = f"listed in {BASELINE} but no longer found: run 'secret-scan --update'"
            problems.append(Problem(key[0], entry.get("line_number", 0), entry["type"], message))
    return sorted(problems, key=lambda problem: (problem.path, problem.line, problem.kind))


def update(root: Path, baseline_path: Path) -> int:
    """Rewrite the baseline from a fresh scan, keeping the audits that still match; return new findings."""
    baseline, found, audits = _scan_against_baseline(root, baseline_path)
    added = 0
    for filename, entries in found.items():
        for entry in entries:
            # detect-secrets records the path it opened; the baseline keeps the tree's relative one.
            entry["filename"] = filename
            audit = audits.get(_key(filename, entry))
            if audit is None:
                added += 1
            else:
                entry.update({k: audit[k] for k in ("is_secret", "reason") if k in audit})
    with _settings(baseline):
        document = format_for_output(SecretsCollection(), is_slim_mode=True)
    document["results"] = found
    baseline_path.write_text(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return added


def main(argv: list[str] | None = None) -> int:
    """Check the tree against the baseline (default) or ``--update`` the baseline."""
    parser = argparse.ArgumentParser(prog="secret-scan", description=__doc__.split("\n\n")[0])
    parser.add_argument("--root", type=Path, default=Path.cwd(), help="the tree to scan (default: .)")
    parser.add_argument("--update", action="store_true", help=f"rewrite {BASELINE}, keeping the audits")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    if args.update:
        added = update(root, root / BASELINE)
        print(f"secret-scan: {BASELINE} updated; {added} new finding(s) to audit")
        return 0
    problems = check(root, root / BASELINE)
    for problem in problems:
        print(problem.render())
    if problems:
        print(f"secret-scan: {len(problems)} problem(s)", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
