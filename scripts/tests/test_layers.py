"""The package's modules import only modules on lower floors (docs/stack.md, repository layout):
a tree, with no circle hidden by import order."""

from __future__ import annotations

import ast
from pathlib import Path

import hf_infernet_stack

PACKAGE = Path(hf_infernet_stack.__file__).parent
FLOORS = (
    ("repository", "errors", "accounts", "codec", "rpc", "browser", "loop_thread"),
    ("foundry", "processes", "delegation", "description", "toolchain"),
    ("rest", "forge", "containers", "anvil", "compose"),
    ("devnode", "consumers", "chain_flows"),
    ("stack_config",),
    ("run_folder", "demo"),
    ("local_stack",),
)
FLOOR = {module: floor for floor, modules in enumerate(FLOORS) for module in modules}


def _package_imports(path: Path) -> set[str]:
    """Modules of this package that `path` imports, at any depth of its code."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom):
            if node.level == 1 and node.module:
                found.add(node.module.split(".")[0])
            elif node.module and node.module.startswith("hf_infernet_stack."):
                found.add(node.module.split(".")[1])
    return found


def test_every_module_has_a_floor() -> None:
    modules = {p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"}

    assert modules == set(FLOOR)


def test_modules_import_only_lower_floors() -> None:
    upward = {
        f"{path.stem} (floor {FLOOR[path.stem]}) imports {name} (floor {FLOOR[name]})"
        for path in PACKAGE.glob("*.py")
        if path.stem in FLOOR
        for name in _package_imports(path)
        if FLOOR[name] >= FLOOR[path.stem]
    }

    assert not upward
