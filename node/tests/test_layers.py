"""The devnode's imports form a tree (docs/devnode.md, "Layout"): no cycle anywhere in the
package, none hidden in a function or behind ``TYPE_CHECKING``; only ``app`` and the HTTP face
(``api``) import the chain half, and in the face only the chain side's answers (``api.chain``),
which only ``app`` imports (when the chain side is enabled); only ``app`` imports the HTTP face;
nothing imports the package root; inside ``chain/`` and ``api/`` a module imports only modules
on a lower floor."""

from __future__ import annotations

import ast
from pathlib import Path

import infernet_devnode
import pytest

ROOT = infernet_devnode.__name__
PACKAGE = Path(infernet_devnode.__file__).parent
CHAIN = f"{ROOT}.chain"
FACE = f"{ROOT}.api"
APP = f"{ROOT}.app"
# The face's modules that import the chain half: an off-chain node must not load them.
FACE_OVER_CHAIN = {f"{FACE}.chain"}
# The process wiring may import a module when it is needed (e.g. the chain half only when
# chain.enabled); such an import still counts as an edge for the cycle check.
MAY_IMPORT_LATE = {APP}


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE).with_suffix("").parts
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join((ROOT, *parts))


def _parse() -> dict[str, tuple[Path, ast.Module]]:
    return {
        _module_name(path): (path, ast.parse(path.read_text()))
        for path in sorted(PACKAGE.rglob("*.py"))
    }


MODULES = _parse()


def _is_package(name: str) -> bool:
    return MODULES[name][0].name == "__init__.py"


def _ancestors(name: str) -> list[str]:
    parts = name.split(".")
    return [".".join(parts[:i]) for i in range(1, len(parts))]


def _targets(name: str, node: ast.Import | ast.ImportFrom) -> set[str]:
    """The package's modules an import statement in module ``name`` loads by name."""
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in MODULES}
    if node.level:
        package = name if _is_package(name) else name.rsplit(".", 1)[0]
        base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
        module = f"{base}.{node.module}" if node.module else base
    else:
        module = node.module or ""
    # `from .x import y` runs x; `from . import x` only x when x is a submodule.
    found = {module} if node.module and module in MODULES else set()
    for alias in node.names:
        if f"{module}.{alias.name}" in MODULES:
            found.add(f"{module}.{alias.name}")
        elif module in MODULES:
            found.add(module)
    return found


def _imports(name: str) -> list[tuple[int, str, bool]]:
    """(line, imported module, at module level) for every import of the package's own modules,
    each imported module's parent packages included unless they contain ``name`` itself."""
    tree = MODULES[name][1]
    top_level = {id(node) for node in tree.body}
    own = set(_ancestors(name))
    found = []
    for node in ast.walk(tree):
        if not isinstance(node, ast.Import | ast.ImportFrom):
            continue
        for target in _targets(name, node):
            loaded = [target] + [a for a in _ancestors(target) if a not in own]
            found += [(node.lineno, module, id(node) in top_level) for module in loaded]
    return found


EDGES = {name: {target for _, target, _ in _imports(name)} - {name} for name in MODULES}


def floors(names: set[str]) -> dict[str, int]:
    """Module -> floor among ``names`` (0 for modules importing none of them); raises on a
    cycle."""
    floor: dict[str, int] = {}

    def depth(name: str, path: tuple[str, ...]) -> int:
        if name in path:
            raise AssertionError("import cycle: " + " -> ".join((*path, name)))
        if name not in floor:
            below = [depth(d, (*path, name)) for d in EDGES[name] if d in names]
            floor[name] = 1 + max(below, default=-1)
        return floor[name]

    for name in sorted(names):
        depth(name, ())
    return floor


def _in(name: str, package: str) -> bool:
    return name == package or name.startswith(package + ".")


def test_the_package_has_no_import_cycle() -> None:
    floors(set(MODULES))


def test_chain_floors() -> None:
    chain = floors({name for name in MODULES if _in(name, CHAIN) and name != CHAIN})
    assert chain[f"{CHAIN}.component"] == max(chain.values())
    assert chain[f"{CHAIN}.abi"] == 0


def test_the_http_face_is_assembled_by_rest_over_responses() -> None:
    face = floors({name for name in MODULES if _in(name, FACE) and name != FACE})
    assert face[f"{FACE}.responses"] == 0
    assert face[f"{FACE}.rest"] == max(face.values())


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if _in(n, FACE) and n not in FACE_OVER_CHAIN)
)
def test_in_the_http_face_only_the_chain_answers_import_the_chain_half(name: str) -> None:
    """The REST API and the explorer serve before the chain half is imported (docs/devnode.md,
    "Start, sync and health"): the rest of the face reaches the chain side only through what
    ``app`` binds at run time."""
    chain = sorted({line for line, target, _ in _imports(name) if _in(target, CHAIN)})
    over_chain = sorted({line for line, target, _ in _imports(name) if target in FACE_OVER_CHAIN})
    assert chain == [], f"{name} imports the chain half at lines {chain}"
    assert over_chain == [], f"{name} imports the chain side's face at lines {over_chain}"


@pytest.mark.parametrize("name", sorted(set(MODULES) - MAY_IMPORT_LATE))
def test_every_import_of_the_package_is_at_module_level(name: str) -> None:
    """A function-local or `if TYPE_CHECKING:` import can hide a circle."""
    hidden = [line for line, _, top_level in _imports(name) if not top_level]
    assert hidden == [], f"{name} imports below module level at lines {hidden}"


@pytest.mark.parametrize(
    "name", sorted(n for n in MODULES if not _in(n, CHAIN) and not _in(n, FACE) and n != APP)
)
def test_only_app_and_the_http_face_import_the_chain_half(name: str) -> None:
    lines = sorted({line for line, target, _ in _imports(name) if _in(target, CHAIN)})
    assert lines == [], f"{name} imports the chain half at lines {lines}"


@pytest.mark.parametrize("name", sorted(n for n in MODULES if not _in(n, FACE) and n != APP))
def test_only_app_imports_the_http_face(name: str) -> None:
    lines = sorted({line for line, target, _ in _imports(name) if _in(target, FACE)})
    assert lines == [], f"{name} imports the HTTP face at lines {lines}"


@pytest.mark.parametrize("name", sorted(set(MODULES) - {ROOT}))
def test_nothing_imports_the_package_root(name: str) -> None:
    """The root's ``__init__`` imports the node; a module reading a name back from it is a
    circle that only the order of the root's lines keeps from failing."""
    lines = sorted({line for line, target, _ in _imports(name) if target == ROOT})
    assert lines == [], f"{name} imports the package root at lines {lines}"
