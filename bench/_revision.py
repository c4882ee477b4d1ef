"""Another git revision of the project, built into its own venv, for side-by-side benches.

`revision_venv("7221315", ["service"])` exports that commit's tree with `git archive` and installs
the named package folders into a venv of their own, pinned by that revision's own
constraints.txt, so the revision runs exactly the dependencies it shipped with. Both are cached
under `.bench/revisions/<full commit id>/` (gitignored): a commit never changes, so a second run
reuses them, and a package not installed yet is added on demand.

Not a bench itself (scripts/bench.py skips files whose name starts with `_`).
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Revision", "revision_venv"]

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".bench" / "revisions"


@dataclass(frozen=True)
class Revision:
    """A revision ready to run.

    Attributes:
        label: what the caller asked for (a tag, a short id).
        commit: the full commit id.
        tree: the exported source tree.
        venv: its venv; `bin(name)` finds a console command in it.
    """

    label: str
    commit: str
    tree: Path
    venv: Path

    def bin(self, name: str) -> str:
        return str(self.venv / "bin" / name)


def _git(*args: str) -> str:
    return subprocess.run(
        ["git", *args], cwd=REPO, capture_output=True, text=True, check=True
    ).stdout.strip()


def _log(message: str) -> None:
    print(f"bench: {message}", file=sys.stderr, flush=True)


def revision_venv(rev: str, packages: list[str]) -> Revision:
    """`rev` (a commit id, tag or branch) exported and installed with `packages` (folders).

    Raises:
        subprocess.CalledProcessError: `rev` is not a commit here, or an install failed.
    """
    commit = _git("rev-parse", "--verify", f"{rev}^{{commit}}")
    home = CACHE / commit
    tree, venv = home / "tree", home / "venv"
    if not (tree / ".exported").exists():
        _log(f"exporting {rev} ({commit[:12]}) into {tree.relative_to(REPO)}")
        tree.mkdir(parents=True, exist_ok=True)
        archive = subprocess.run(
            ["git", "archive", "--format=tar", commit], cwd=REPO, capture_output=True, check=True
        ).stdout
        subprocess.run(["tar", "-x", "-C", str(tree)], input=archive, check=True)
        (tree / ".exported").touch()
    if not (venv / "bin" / "python").exists():
        _log(f"making a venv for {rev} in {venv.relative_to(REPO)}")
        subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    for package in packages:
        stamp = venv / f".installed-{package.replace('/', '-')}"
        if stamp.exists():
            continue
        _log(f"installing {rev}'s {package} with its own constraints.txt")
        subprocess.run(
            [
                str(venv / "bin" / "python"),
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
                "-c",
                str(tree / "constraints.txt"),
                str(tree / package),
            ],
            check=True,
        )
        stamp.touch()
    return Revision(rev, commit, tree, venv)
