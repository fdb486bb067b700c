"""No module of the package imports itself back, directly or through others (read with ast)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "src" / "cagnet"


def _module_names() -> dict[str, Path]:
    names = {}
    for path in PACKAGE.rglob("*.py"):
        parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
        if parts[-1] == "__init__":
            parts = parts[:-1]
        names[".".join(parts)] = path
    return names


def _imports(path: Path, module: str, modules: dict[str, Path], lazy: bool) -> set[str]:
    """The package modules that ``module`` imports: at module level, or (``lazy``) also inside
    functions and by name (a string naming a package module, as importlib imports it)."""
    tree = ast.parse(path.read_text(), filename=str(path))
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found: set[str] = set()

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            inner = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef)
            if isinstance(child, ast.Import | ast.ImportFrom) and (lazy or not in_function):
                found.update(_targets(child, package, modules))
            elif lazy and isinstance(child, ast.Constant) and _names_a_submodule(child, modules):
                found.add(child.value)  # a module named for importlib (cli.py's PLUGINS)
            visit(child, inner)

    visit(tree, False)
    found.discard(module)
    return found


def _names_a_submodule(node: ast.Constant, modules: dict[str, Path]) -> bool:
    """A dotted string naming a package module; the bare "cagnet" is also the method's name."""
    return isinstance(node.value, str) and "." in node.value and node.value in modules


def _targets(node: ast.Import | ast.ImportFrom, package: str, modules: dict[str, Path]) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names if alias.name in modules}
    base = node.module or ""
    if node.level:
        anchor = package.split(".")[: len(package.split(".")) - (node.level - 1)]
        base = ".".join(anchor + ([base] if base else []))
    targets = set()
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            targets.add(submodule)
        elif base in modules:
            targets.add(base)
    return targets


def import_graph(lazy: bool) -> dict[str, set[str]]:
    """module -> the package modules it imports (``lazy``: also inside functions, or by name)."""
    modules = _module_names()
    return {name: _imports(path, name, modules, lazy) for name, path in modules.items()}


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle [a, b, ..., a] of the directed graph, or None when it has none."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = finished
    path: list[str] = []

    def walk(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for target in sorted(graph.get(node, ())):
            if state.get(target) == 1:
                return path[path.index(target) :] + [target]
            if target not in state and (cycle := walk(target)):
                return cycle
        path.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (cycle := walk(node)):
            return cycle
    return None


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert find_cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": {"c"}, "d": {"a", "c"}}) is None


def test_the_graph_sees_the_package() -> None:
    graph = import_graph(lazy=False)
    assert "cagnet.compare.run" in graph and "cagnet.config" in graph["cagnet.compare.run"]


@pytest.mark.parametrize("lazy", [False, True], ids=["module-level", "with-function-imports"])
def test_no_import_cycles(lazy: bool) -> None:
    """Module-level imports form no cycle; nor do they with the imports inside functions, so no
    lazy import hides one."""
    cycle = find_cycle(import_graph(lazy))
    assert cycle is None, "import cycle: " + " -> ".join(cycle)
