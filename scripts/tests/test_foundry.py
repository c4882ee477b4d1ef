"""The Foundry resolver: the real binaries, never the npm wrappers, the same in make and Python."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest
from hf_infernet_stack import foundry
from hf_infernet_stack import toolchain
from hf_infernet_stack.repository import REPO

WRAPPERS = REPO / "node_modules" / ".bin"


def _env(**overrides: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("FORGE", "ANVIL", "CAST")}
    env = {k: v for k, v in env.items() if not k.startswith("MAKE")}
    env.update(overrides)
    return env


def _make_paths(env: dict[str, str]) -> list[str]:
    """What the Makefile resolves FORGE, ANVIL and CAST to under `env`."""
    done = subprocess.run(
        [
            "make",
            "-s",
            "-C",
            str(REPO),
            "--eval",
            "paths: ; @echo $(FORGE) $(ANVIL) $(CAST)",
            "paths",
        ],
        capture_output=True,
        text=True,
        env=env,
        check=True,
    )
    return done.stdout.split()


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("FORGE", "ANVIL", "CAST"):
        monkeypatch.delenv(name, raising=False)


@pytest.mark.usefixtures("clean_env")
@pytest.mark.parametrize("tool", foundry.TOOLS)
def test_resolves_a_native_binary_not_the_npm_wrapper(tool: str) -> None:
    assert foundry.is_npm_wrapper(str(WRAPPERS / tool)), "the npm wrapper is a Node script"
    path = foundry.foundry_tool(tool)
    assert not foundry.is_npm_wrapper(path)
    with open(path, "rb") as f:
        assert f.read(4) in (b"\x7fELF", b"\xcf\xfa\xed\xfe")  # a native executable
    # The real binary reports a bad flag through its exit code; the wrapper exits 0.
    bad_flag = subprocess.run([path, "--no-such-flag"], capture_output=True, check=False)
    assert bad_flag.returncode != 0


@pytest.mark.usefixtures("clean_env")
def test_make_and_python_agree_even_with_the_wrappers_first_on_path(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for path in (os.environ["PATH"], f"{WRAPPERS}{os.pathsep}{os.environ['PATH']}"):
        monkeypatch.setenv("PATH", path)
        python_paths = [foundry.foundry_tool(tool) for tool in foundry.TOOLS]
        assert _make_paths(_env(PATH=path)) == python_paths
        assert not any(foundry.is_npm_wrapper(p) for p in python_paths)


def test_an_explicit_variable_wins_in_both(monkeypatch: pytest.MonkeyPatch) -> None:
    chosen = {"FORGE": "/opt/f/forge", "ANVIL": "/opt/a/anvil", "CAST": "/opt/c/cast"}
    for name, value in chosen.items():
        monkeypatch.setenv(name, value)
    assert [foundry.foundry_tool(t) for t in foundry.TOOLS] == list(chosen.values())
    assert _make_paths(_env(**chosen)) == list(chosen.values())


def test_a_missing_toolchain_names_what_to_run(
    clean_env: None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    with pytest.raises(foundry.FoundryNotFound, match="make setup"):
        foundry.foundry_tool("forge", repo=tmp_path)


@pytest.mark.usefixtures("clean_env")
def test_a_failing_forge_test_fails_the_resolved_forge(tmp_path: Path) -> None:
    forge = foundry.foundry_tool("forge")
    passing = toolchain.write_project(tmp_path / "passing", failing=False)
    failing = toolchain.write_project(tmp_path / "failing", failing=True)
    ok = subprocess.run([forge, "test", "--root", str(passing)], capture_output=True, check=False)
    bad = subprocess.run(
        [forge, "test", "--root", str(failing)], capture_output=True, text=True, check=False
    )
    assert ok.returncode == 0, ok.stdout
    assert bad.returncode != 0
    assert "test_fails_on_purpose" in bad.stdout
