"""The shape of hub/: sub-packages by concern, imports pointing one way, no cycles.

The import graph is read from the source with ast (every import, including those inside
functions), so a lazy import that runs upwards or closes a cycle is caught as well.
"""

from __future__ import annotations

import ast
from collections import defaultdict
from pathlib import Path

import pytest

HUB = Path(__file__).resolve().parent.parent / "hub"

#: floors, bottom first; a module may import its own floor and those below, never above.
#: The README's "How the code is laid out" describes the same order.
FLOORS: list[tuple[str, set[str]]] = [
    (
        "leaf",
        {
            "hub.errors",
            "hub.secrets",
            "hub.values",
            "hub.settings",
            "hub.canonical",
            "hub.logs",
            "hub.observe",
        },
    ),
    ("storage and connector kit", {"hub.storage", "hub.connectors"}),
    ("runtime", {"hub.runtime"}),
    ("jobs", {"hub.jobs"}),
    (
        "domain",
        {
            "hub.orders",
            "hub.mapping",
            "hub.stock",
            "hub.shipping",
            "hub.returns",
            "hub.intake",
            "hub.reports",
        },
    ),
    ("top", {"hub.web", "hub.cli"}),
]
#: ``hub/__init__.py`` is the public API for connector packages: it re-exports from the
#: floors below the runtime and may not reach higher.
PUBLIC_API_CEILING = 1
MAX_TOP_LEVEL_MODULES = 10


def module_names(root: Path = HUB) -> dict[str, Path]:
    out = {}
    for path in root.rglob("*.py"):
        if "migrations" in path.relative_to(root).parts:
            continue  # Alembic's scripts, loaded by Alembic
        parts = path.relative_to(root.parent).with_suffix("").parts
        name = ".".join(parts[:-1] if parts[-1] == "__init__" else parts)
        out[name] = path
    return out


def import_graph(modules: dict[str, Path]) -> dict[str, set[str]]:
    """module -> hub modules it imports (``from pkg import mod`` counts as importing ``mod``)."""
    graph: dict[str, set[str]] = defaultdict(set)
    for name, path in modules.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            targets: list[str] = []
            if isinstance(node, ast.Import):
                targets = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    base = package.split(".")[: len(package.split(".")) - node.level + 1]
                    source = ".".join([*base, node.module] if node.module else base)
                else:
                    source = node.module or ""
                for alias in node.names:
                    full = f"{source}.{alias.name}"
                    targets.append(full if full in modules else source)
            for target in targets:
                while target and target not in modules:
                    target = target.rpartition(".")[0]
                if target and target != name:
                    graph[name].add(target)
    return graph


def unit(module: str) -> str:
    """The package a module belongs to (``hub.stock.sync`` -> ``hub.stock``); top-level
    modules are their own unit."""
    parts = module.split(".")
    return ".".join(parts[:2])


def floor_of(module: str) -> int | None:
    for index, (_label, units) in enumerate(FLOORS):
        if unit(module) in units:
            return index
    return None


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one member (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for target in sorted(graph.get(node, ())):
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

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    return import_graph(module_names())


def test_no_module_imports_in_a_cycle(graph):
    assert cycles(graph) == []


def test_no_packages_import_in_a_cycle(graph):
    packages: dict[str, set[str]] = defaultdict(set)
    for source, targets in graph.items():
        for target in targets:
            if unit(source) != unit(target) and source != "hub":
                packages[unit(source)].add(unit(target))
    assert cycles(packages) == []


def test_every_module_has_a_floor(graph):
    unplaced = sorted({m for m in module_names() if m != "hub" and floor_of(m) is None})
    assert unplaced == [], "place new packages in FLOORS (and the README's layout)"


def test_no_import_runs_upwards(graph):
    upwards = []
    for source, targets in sorted(graph.items()):
        ceiling = PUBLIC_API_CEILING if source == "hub" else floor_of(source)
        for target in sorted(targets):
            target_floor = floor_of(target)
            if ceiling is not None and target_floor is not None and target_floor > ceiling:
                upwards.append(f"{source} -> {target} ({FLOORS[target_floor][0]})")
    assert upwards == []


def test_few_modules_directly_in_hub():
    top = sorted(p.name for p in HUB.glob("*.py"))
    assert len(top) <= MAX_TOP_LEVEL_MODULES, top


def test_each_package_says_what_it_owns_and_may_import():
    for init in sorted(HUB.glob("*/__init__.py")):
        doc = ast.get_docstring(ast.parse(init.read_text())) or ""
        assert "import" in doc and len(doc) > 200, f"{init}: say what it owns and may import"


# -- the checks themselves catch what they are for ------------------------------------------


def _tree(tmp_path: Path, files: dict[str, str]) -> dict[str, Path]:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return module_names(tmp_path / "hub")


def test_a_lazy_import_cycle_is_found(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "hub/__init__.py": "",
            "hub/stock/__init__.py": "",
            "hub/stock/ledger.py": "def f():\n    from hub.stock import sync\n",
            "hub/stock/sync.py": "from hub.stock.ledger import f\n",
        },
    )
    assert cycles(import_graph(modules)) == [["hub.stock.ledger", "hub.stock.sync"]]


def test_an_upward_import_is_found(tmp_path):
    modules = _tree(
        tmp_path,
        {
            "hub/__init__.py": "",
            "hub/storage/__init__.py": "",
            "hub/storage/db.py": "from hub.web import app\n",
            "hub/web/__init__.py": "",
            "hub/web/app.py": "",
        },
    )
    graph = import_graph(modules)
    assert graph["hub.storage.db"] == {"hub.web.app"}
    assert floor_of("hub.web.app") > floor_of("hub.storage.db")
