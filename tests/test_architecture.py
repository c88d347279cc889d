"""The house rules that keep `app/` easy to change, checked on the source (docs/decisions.md).

- No import cycle between domain packages, counting every import (module level, inside
  functions, under TYPE_CHECKING): a cycle held apart by a function-level import is still one.
- `app/core` imports no domain: infrastructure must not know the product.
- No source file in `app/` over 500 lines: past that a module is doing several jobs.
"""

from __future__ import annotations

import ast
from pathlib import Path

APP = Path(__file__).resolve().parent.parent / "app"
MAX_LINES = 500
# Top-level modules of app/ that compose the domains (they import everything, nothing imports
# them back): the app factory, the job process, the CLI, the demo loader, the wiring.
ROOTS = {"main", "jobs", "wiring", "demo", "__main__", "__init__", "settings"}


def _sources() -> list[Path]:
    return sorted(p for p in APP.rglob("*.py") if "__pycache__" not in p.parts)


def _imported_modules(path: Path) -> set[str]:
    """Every `app.*` module the file imports, wherever the import statement sits."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = ".".join(path.relative_to(APP.parent).with_suffix("").parts[:-1])
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against this file's package
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module or ""
            found.add(module)
            found.update(f"{module}.{alias.name}" for alias in node.names)
    return {m for m in found if m == "app" or m.startswith("app.")}


def _owner(module: str) -> str | None:
    """The top-level part of app/ a module belongs to: a domain, `core`, or a root module."""
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else None


def _domain_of(path: Path) -> str:
    rel = path.relative_to(APP).parts
    return rel[0] if len(rel) > 1 else rel[0].removesuffix(".py")


def _is_domain(name: str) -> bool:
    return (APP / name).is_dir() and name != "core"


def _domain_graph() -> dict[str, dict[str, set[str]]]:
    """domain -> imported domain -> the files that import it (for the failure message)."""
    graph: dict[str, dict[str, set[str]]] = {}
    for path in _sources():
        here = _domain_of(path)
        if not _is_domain(here):
            continue
        for module in _imported_modules(path):
            there = _owner(module)
            if there and there != here and _is_domain(there):
                graph.setdefault(here, {}).setdefault(there, set()).add(
                    str(path.relative_to(APP.parent)))
    return graph


def _cycles(graph: dict[str, dict[str, set[str]]]) -> list[list[str]]:
    """Strongly connected components with more than one domain (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for nxt in graph.get(node, {}):
            if nxt not in index:
                visit(nxt)
                low[node] = min(low[node], low[nxt])
            elif nxt in on_stack:
                low[node] = min(low[node], index[nxt])
        if low[node] == index[node]:
            component = []
            while True:
                top = stack.pop()
                on_stack.discard(top)
                component.append(top)
                if top == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return found


def test_no_import_cycle_between_domains():
    graph = _domain_graph()
    problems = []
    for component in _cycles(graph):
        edges = [f"  {a} -> {b}: {', '.join(sorted(graph[a][b]))}"
                 for a in component for b in sorted(graph.get(a, {})) if b in component]
        problems.append(" <-> ".join(component) + "\n" + "\n".join(edges))
    assert not problems, "import cycles between domains:\n" + "\n".join(problems)


def test_the_checker_finds_a_cycle():
    graph = {"a": {"b": {"x"}}, "b": {"c": {"y"}}, "c": {"a": {"z"}}, "d": {"a": {"w"}}}
    assert _cycles(graph) == [["a", "b", "c"]]


def test_core_imports_no_domain():
    offenders = sorted(
        f"{path.relative_to(APP.parent)} imports {module}"
        for path in _sources() if _domain_of(path) == "core"
        for module in _imported_modules(path)
        if (owner := _owner(module)) and owner not in ("core", "settings")
    )
    assert not offenders, "\n".join(offenders)


def test_no_source_file_over_500_lines():
    long = sorted(f"{path.relative_to(APP.parent)}: {n} lines" for path in _sources()
                  if (n := len(path.read_text(encoding="utf-8").splitlines())) > MAX_LINES)
    assert not long, "split these by job:\n" + "\n".join(long)


def unnamed_transactions(source: str) -> list[int]:
    """Lines with `in_transaction()` that do not name their connection."""
    return [node.lineno for node in ast.walk(ast.parse(source))
            if isinstance(node, ast.Call) and getattr(node.func, "id", getattr(
                node.func, "attr", None)) == "in_transaction" and not node.args
            and not node.keywords]


def test_every_transaction_names_its_connection():
    """With a read replica configured (DATABASE_REPLICA_URL) Tortoise has two connections and
    refuses `in_transaction()` without a name: writes must say "default" (the primary)."""
    found = [f"{path.relative_to(APP.parent)}:{line}" for path in sorted(APP.rglob("*.py"))
             for line in unnamed_transactions(path.read_text(encoding="utf-8"))]
    assert found == [], found
    assert unnamed_transactions("async def f():\n    async with in_transaction():\n        pass\n")
