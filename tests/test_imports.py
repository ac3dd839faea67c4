"""The import graph of the Python package (M5): no cycle among module-level imports, package
imports inside functions only where the allowlist says why, and no underscore-private helper
imported from another module. Read from the source with ``ast``, nothing is imported."""

from __future__ import annotations

import ast
import pathlib

import pytest

PACKAGE = pathlib.Path(__file__).resolve().parent.parent / "neurograph_lab"

#: (importing module, imported module): package imports allowed inside a function, each
#: because the imported module pulls in a heavy dependency that loads on first use
LOCAL_IMPORTS_ALLOWED = {
    ("neurograph_lab", "neurograph_lab.widgets"),  # anywidget, ipywidgets: ng.GridExplorer ...
    ("neurograph_lab", "neurograph_lab.magics"),  # IPython: only %load_ext needs it
    ("neurograph_lab", "neurograph_lab.client"),  # httpx: ng.connect / ng.Client
    ("neurograph_lab.cli", "neurograph_lab._core"),  # the compiled core: `neurograph-lab --help` stays fast
    ("neurograph_lab.cli", "neurograph_lab.runtime"),  # numpy, pandas: only `serve` needs them
    ("neurograph_lab._explore_lang", "neurograph_lab.widgets"),  # anywidget: only "show grid|graph"
}


def _module_name(path: pathlib.Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _modules() -> dict[str, pathlib.Path]:
    return {_module_name(p): p for p in sorted(PACKAGE.rglob("*.py"))}


def _resolve(importer: str, is_package: bool, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = importer.split(".")
    if not is_package:
        base = base[:-1]
    base = base[: len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


class _Imports(ast.NodeVisitor):
    """Package imports of one module: (imported module, names, inside a function?)."""

    def __init__(self, name: str, is_package: bool, modules: set[str]) -> None:
        self.name, self.is_package, self.modules = name, is_package, modules
        self.found: list[tuple[str, list[str], bool, int]] = []
        self.depth = 0

    def _visit_function(self, node: ast.AST) -> None:
        self.depth += 1
        self.generic_visit(node)
        self.depth -= 1

    visit_FunctionDef = visit_AsyncFunctionDef = visit_Lambda = _visit_function

    def visit_If(self, node: ast.If) -> None:
        if _is_type_checking(node):
            for child in node.orelse:
                self.visit(child)
            return
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            if alias.name.split(".")[0] == "neurograph_lab":
                self.found.append((alias.name, [], self.depth > 0, node.lineno))

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        target = _resolve(self.name, self.is_package, node)
        if target.split(".")[0] != "neurograph_lab":
            return
        names = [a.name for a in node.names]
        # ``from . import x`` imports the submodule x
        subs = [f"{target}.{n}" for n in names if f"{target}.{n}" in self.modules or n == "_core"]
        if subs:
            for sub in subs:
                self.found.append((sub, [], self.depth > 0, node.lineno))
            names = [n for n in names if f"{target}.{n}" not in subs]
        if names or not subs:
            self.found.append((target, names, self.depth > 0, node.lineno))


def _graph() -> dict[str, list[tuple[str, list[str], bool, int]]]:
    modules = _modules()
    known = set(modules) | {"neurograph_lab._core"}
    out = {}
    for name, path in modules.items():
        visitor = _Imports(name, path.name == "__init__.py", known)
        visitor.visit(ast.parse(path.read_text(encoding="utf-8"), str(path)))
        out[name] = visitor.found
    return out


def _cycle(edges: dict[str, set[str]]) -> list[str]:
    """One cycle of the graph (as a list of modules), or []."""
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(m: str) -> list[str]:
        state[m] = 1
        stack.append(m)
        for n in sorted(edges.get(m, ())):
            if state.get(n) == 1:
                return stack[stack.index(n) :] + [n]
            if n not in state:
                found = visit(n)
                if found:
                    return found
        stack.pop()
        state[m] = 2
        return []

    for m in sorted(edges):
        if m not in state:
            found = visit(m)
            if found:
                return found
    return []


def _module_edges() -> dict[str, set[str]]:
    """Module-level import edges; importing ``a.b`` also runs ``a`` (the package)."""
    edges: dict[str, set[str]] = {}
    for name, found in _graph().items():
        targets = set()
        for target, _names, local, _line in found:
            if local or target == "neurograph_lab._core":
                continue
            parts = target.split(".")
            for i in range(2, len(parts) + 1):  # the parent packages run first, except the root
                targets.add(".".join(parts[:i]))
        targets.discard(name)
        edges[name] = {t for t in targets if not name.startswith(t + ".")}
    return edges


def test_the_package_has_no_import_cycle():
    edges = _module_edges()
    assert "neurograph_lab.runtime" in edges and edges["neurograph_lab.runtime"]
    assert _cycle(edges) == [], " -> ".join(_cycle(edges))


def test_the_cycle_check_finds_a_cycle():
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    assert _cycle({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_package_imports_inside_functions_are_allowlisted():
    local = sorted(
        (name, target, line)
        for name, found in _graph().items()
        for target, _names, is_local, line in found
        if is_local and (name, target) not in LOCAL_IMPORTS_ALLOWED
    )
    assert local == [], "import these at the top of the module (or allowlist a heavy optional dependency)"


def test_no_private_helper_is_imported_from_another_module():
    private = sorted(
        (name, target, n)
        for name, found in _graph().items()
        for target, names, _local, _line in found
        for n in names
        if n.startswith("_")
    )
    assert private == [], "give shared helpers a public name in a private module (_args, _frames ...)"


@pytest.mark.parametrize("path", sorted(PACKAGE.rglob("*.py")), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_lazy_third_party_imports_say_why(path):
    # function-local imports are for heavy optional dependencies, each with a "# lazy:" comment
    lines = path.read_text(encoding="utf-8").splitlines()
    tree = ast.parse("\n".join(lines))
    missing = []
    for fn in ast.walk(tree):
        if isinstance(fn, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for node in ast.walk(fn):
                if isinstance(node, (ast.Import, ast.ImportFrom)) and "# lazy:" not in lines[node.lineno - 1]:
                    missing.append(f"{path.name}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    assert missing == []


def test_modules_stay_small():
    big = {p.name: n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text(encoding="utf-8").splitlines())) > 600}
    assert big == {}
