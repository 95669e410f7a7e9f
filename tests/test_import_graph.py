"""No import cycles in ``ltiaas_auth``: every module imports alone in a fresh interpreter, and the static
import graph has no cycle.

The rule, as checked here: module A *imports* module B when A holds an import statement that runs (at module
level or inside a function or method, however deeply nested) naming B or a name B defines. Imports under
``if TYPE_CHECKING:`` never run and are not counted. ``from package import name`` counts as importing the
submodule ``package.name`` when there is one, else the package. A package's ``__init__`` importing its own
descendants (re-exporting them, often lazily through ``__getattr__``) is not counted: the package is the
facade of those modules, not a peer of them; everything else is, so a child importing a sibling, a parent
package's child importing that package, or a function-level import that closes a loop all count.

"No two modules import each other" then means: the graph has no cycle, whatever its length (a cycle of
three is two modules importing each other through a third). A function-level import that closes a cycle
hides it at import time but not from this check, which is why both are tested: the fresh-interpreter import
catches what only shows at run time (a partially initialised module), the graph what a deferred import
hides.
"""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).parent.parent
PACKAGE = ROOT / "ltiaas_auth"


def module_name(path: Path) -> str:
    parts = list(path.relative_to(ROOT).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


MODULES = {module_name(path): path for path in sorted(PACKAGE.rglob("*.py"))}
SCRIPTS = {"ltiaas_auth.__main__"}  # runs the command when imported: exercised as `python -m ltiaas_auth`


def is_package(name: str) -> bool:
    return MODULES[name].name == "__init__.py"


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run: anywhere in the tree except under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.If) and _type_checking(node.test):
            for child in node.orelse:
                yield from _imports(ast.Module(body=[child], type_ignores=[]))
            continue
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        yield from _imports(node)


def _base(importer: str, node: ast.ImportFrom) -> str:
    """The absolute module a ``from … import`` names (relative imports resolved against `importer`)."""
    if node.level == 0:
        return node.module or ""
    package = importer if is_package(importer) else importer.rpartition(".")[0]
    for _ in range(node.level - 1):
        package = package.rpartition(".")[0]
    return f"{package}.{node.module}" if node.module else package


def imported_by(importer: str) -> set[str]:
    """The package's modules `importer` imports, by the rule in the module docstring."""
    tree = ast.parse(MODULES[importer].read_text(), str(MODULES[importer]))
    targets: set[str] = set()
    for node in _imports(tree):
        if isinstance(node, ast.Import):
            targets.update(alias.name for alias in node.names if alias.name in MODULES)
            continue
        base = _base(importer, node)
        for alias in node.names:
            if f"{base}.{alias.name}" in MODULES:
                targets.add(f"{base}.{alias.name}")
            elif base in MODULES:
                targets.add(base)
    if is_package(importer):  # a package's facade over its own children is not a dependency between peers
        targets = {target for target in targets if not target.startswith(f"{importer}.")}
    targets.discard(importer)
    return targets


def graph() -> dict[str, set[str]]:
    return {name: imported_by(name) for name in MODULES}


def cycles(edges: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan), each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(edges.get(node, ())):
            if target not in index:
                visit(target)
                low[node] = min(low[node], low[target])
            elif target in on_stack:
                low[node] = min(low[node], index[target])
        if low[node] == index[node]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(edges):
        if node not in index:
            visit(node)
    return found


def test_the_package_import_graph_has_no_cycle() -> None:
    edges = graph()
    found = cycles(edges)
    described = [
        " <-> ".join(component)
        + ": "
        + "; ".join(f"{a} -> {b}" for a in component for b in sorted(edges[a] & set(component)))
        for component in found
    ]
    assert found == [], "import cycles:\n" + "\n".join(described)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        pytest.param({"a": {"b"}, "b": {"a"}}, [["a", "b"]], id="two-modules"),
        pytest.param({"a": {"b"}, "b": {"c"}, "c": {"a"}}, [["a", "b", "c"]], id="through-a-third"),
        pytest.param({"a": {"b"}, "b": {"c"}, "c": set()}, [], id="a-chain"),
        pytest.param({"a": {"a"}}, [], id="itself"),
    ],
)
def test_the_cycle_finder(source: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert cycles(source) == expected


def test_the_rule_counts_function_level_imports_and_skips_type_checking_ones() -> None:
    """The CLI imports the demo inside a function, and the demo's config only for type checking."""
    assert "ltiaas_auth.demo.runner" in imported_by("ltiaas_auth.cli")  # `from .demo.runner import run`
    assert "ltiaas_auth._exit" in imported_by("ltiaas_auth.cli")
    assert "ltiaas_auth.cli" not in imported_by("ltiaas_auth.demo.runner")
    assert "ltiaas_auth.config" in imported_by("ltiaas_auth.demo.runner")  # inside run()
    assert "ltiaas_auth.testing._fake" in imported_by("ltiaas_auth.testing.plugin")  # inside the fixtures
    # the package re-exporting its children lazily is not an edge; a child importing a sibling is
    assert imported_by("ltiaas_auth.testing") == set()
    assert "ltiaas_auth.testing._fake_validate" in imported_by("ltiaas_auth.testing._fake_api")


@pytest.mark.parametrize("module", sorted(set(MODULES) - SCRIPTS))
def test_each_module_imports_alone_in_a_fresh_interpreter(module: str, tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-W", "error", "-c", f"import {module}"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr


def test_the_main_module_runs_alone() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "ltiaas_auth", "--version"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")
