"""The chain package's imports form a tree: no cycle, no function-local or type-checking-only
import of a sibling, and the off-chain half never imports the chain half."""

from __future__ import annotations

import ast
from pathlib import Path

import infernet_devnode
import pytest

PACKAGE = Path(infernet_devnode.__file__).parent
CHAIN = PACKAGE / "chain"
# Only the node process wires the chain side in.
MAY_IMPORT_CHAIN = {"app"}


def _modules(folder: Path) -> dict[str, ast.Module]:
    return {p.stem: ast.parse(p.read_text()) for p in folder.glob("*.py") if p.stem != "__init__"}


def _sibling_imports(tree: ast.Module, siblings: set[str]) -> set[str]:
    return {
        node.module.split(".")[0]
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom) and node.level == 1 and node.module
        if node.module.split(".")[0] in siblings
    }


def layers() -> dict[str, int]:
    """Module -> floor (0 for modules importing no sibling); raises on a cycle."""
    modules = _modules(CHAIN)
    edges = {name: _sibling_imports(tree, set(modules)) for name, tree in modules.items()}
    floor: dict[str, int] = {}

    def depth(name: str, path: tuple[str, ...]) -> int:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join((*path, name)))
        if name not in floor:
            floor[name] = 1 + max((depth(d, (*path, name)) for d in edges[name]), default=-1)
        return floor[name]

    for name in modules:
        depth(name, ())
    return floor


def test_chain_imports_have_no_cycle() -> None:
    floors = layers()
    assert floors["component"] == max(floors.values())
    assert floors["abi"] == 0


@pytest.mark.parametrize("name", sorted(_modules(CHAIN)))
def test_every_import_is_at_module_level(name: str) -> None:
    """A function-local or `if TYPE_CHECKING:` import is a circle being hidden."""
    tree = _modules(CHAIN)[name]
    top_level = {id(node) for node in tree.body}
    hidden = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in top_level
    ]
    assert hidden == [], f"chain/{name}.py imports below module level at lines {hidden}"


@pytest.mark.parametrize("name", sorted(set(_modules(PACKAGE)) - MAY_IMPORT_CHAIN))
def test_the_offchain_half_does_not_import_the_chain_half(name: str) -> None:
    tree = _modules(PACKAGE)[name]
    chain = [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.ImportFrom)
        and node.level == 1
        and (node.module or "").split(".")[0] == "chain"
    ]
    assert chain == [], f"{name}.py imports the chain half at lines {chain}"
