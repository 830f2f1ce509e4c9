"""Module boundaries inside searchkit/, checked on the source by AST scans:

* no private name (``_x``) crosses a module boundary: a module that needs another's helper
  gets it under a public name (``from M import _x``, and ``M._x`` where M is a searchkit
  module the file imported);
* the Index facade is not part of an import loop: nothing it imports at run time imports it
  back, and the read path's modules do not import it at all (they take its parts)."""

import ast
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "searchkit"


def _module_name(path: Path) -> str:
    parts = path.relative_to(PACKAGE.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _resolve(current: str, is_package: bool, level: int, module: str | None) -> str:
    """The absolute name of a (possibly relative) import target."""
    if level == 0:
        return module or ""
    base = current.split(".")
    base = base if is_package else base[:-1]
    base = base[:len(base) - (level - 1)]
    return ".".join(base + ([module] if module else []))


def _private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def violations(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    current = _module_name(path)
    is_package = path.name == "__init__.py"
    where = path.relative_to(PACKAGE.parent)
    modules: set[str] = set()  # local names bound to searchkit modules
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            target = _resolve(current, is_package, node.level, node.module)
            if not target.startswith("searchkit"):
                continue
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                if (PACKAGE.parent / sub.replace(".", "/")).with_suffix(".py").exists() or \
                        (PACKAGE.parent / sub.replace(".", "/") / "__init__.py").exists():
                    modules.add(alias.asname or alias.name)
                elif _private(alias.name) and target != current:
                    out.append(f"{where}:{node.lineno}: from {target} import {alias.name}")
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("searchkit"):
                    modules.add(alias.asname or alias.name.split(".")[0])
    for node in ast.walk(tree):
        if isinstance(node, ast.Attribute) and _private(node.attr) and \
                isinstance(node.value, ast.Name) and node.value.id in modules:
            out.append(f"{where}:{node.lineno}: {node.value.id}.{node.attr}")
    return out


def test_the_scan_finds_what_it_looks_for(tmp_path):
    pkg = tmp_path / "searchkit"
    pkg.mkdir()
    (pkg / "a.py").write_text("def _helper(): ...\n")
    bad = pkg / "b.py"
    bad.write_text("from .a import _helper\nfrom . import a\na._helper()\nself._ok = 1\n")
    global PACKAGE
    saved, PACKAGE = PACKAGE, pkg
    try:
        found = violations(bad)
    finally:
        PACKAGE = saved
    assert found == ["searchkit/b.py:1: from searchkit.a import _helper",
                     "searchkit/b.py:3: a._helper"]


def test_no_private_name_crosses_a_module_boundary():
    found = [v for p in sorted(PACKAGE.rglob("*.py")) for v in violations(p)]
    assert found == [], "\n".join(found)


def imports(path: Path, runtime: bool) -> set[str]:
    """The searchkit modules ``path`` imports, anywhere in it; with ``runtime``, leaving
    out ``if TYPE_CHECKING:`` blocks."""
    tree = ast.parse(path.read_text(), str(path))
    current, is_package = _module_name(path), path.name == "__init__.py"
    skip: set[int] = set()
    if runtime:
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                skip.update(id(n) for stmt in node.body for n in ast.walk(stmt))
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        if isinstance(node, ast.ImportFrom):
            target = _resolve(current, is_package, node.level, node.module)
            for alias in node.names:
                sub = f"{target}.{alias.name}"
                found.add(sub if _is_module(sub) else target)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
    return {m for m in found if m.startswith("searchkit") and m != current
            and not current.startswith(m + ".")}  # a package's own __init__ is not a loop


def _is_module(name: str) -> bool:
    base = PACKAGE.parent / name.replace(".", "/")
    return base.with_suffix(".py").exists() or (base / "__init__.py").exists()


def _graph(runtime: bool) -> dict[str, set[str]]:
    return {_module_name(p): imports(p, runtime) for p in PACKAGE.rglob("*.py")}


def _reaches(graph: dict[str, set[str]], start: str, goal: str) -> list[str] | None:
    """A chain of imports from ``start`` to ``goal``, or None."""
    todo, came = [start], {start: ""}
    while todo:
        m = todo.pop()
        for n in sorted(graph.get(m, ())):
            if n not in came:
                came[n] = m
                if n == goal:
                    chain = [n]
                    while chain[-1] != start:
                        chain.append(came[chain[-1]])
                    return chain[::-1]
                todo.append(n)
    return None


def test_index_is_in_no_runtime_import_loop():
    graph = _graph(runtime=True)
    loops = [chain for m in graph["searchkit.index"]
             if (chain := _reaches(graph, m, "searchkit.index")) is not None]
    assert loops == [], loops


READ_PATH = ("searchkit.query", "searchkit.filters", "searchkit.retrieval.methods",
             "searchkit.retrieval.dense", "searchkit.retrieval.hybrid")


def test_read_path_takes_parts_not_the_facade():
    graph = _graph(runtime=False)
    assert {m: sorted(graph[m] & {"searchkit.index"}) for m in READ_PATH} == \
        {m: [] for m in READ_PATH}


SQL_START = ("SELECT ", "INSERT ", "DELETE ", "UPDATE ", "PRAGMA ", "CREATE ", "ALTER ",
             "ATTACH ", "DETACH ", "WHERE ")
DB_CALLS = {"execute", "executemany", "executescript", "query"}


def sql_outside_the_store(path: Path) -> list[str]:
    """SQL text, and calls of a database's execute/query, in ``path``."""
    out = []
    where = path.relative_to(PACKAGE.parent)
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and node.value.lstrip().startswith(SQL_START)):
            out.append(f"{where}:{node.lineno}: SQL {node.value.strip()[:40]!r}")
        elif (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and node.func.attr in DB_CALLS):
            out.append(f"{where}:{node.lineno}: .{node.func.attr}(...)")
    return out


def test_the_sql_scan_finds_what_it_looks_for(tmp_path):
    f = PACKAGE / "store" / "meta.py"
    assert any("SQL 'SELECT" in v for v in sql_outside_the_store(f))
    assert any(".execute(...)" in v for v in sql_outside_the_store(f))


def test_all_sql_is_behind_the_stores():
    """Every SQL statement lives in searchkit/store/ (MetaStore for the local index, the
    Postgres store for its own database); the rest of the package calls named methods."""
    found = []
    for f in sorted(PACKAGE.rglob("*.py")):
        if f.relative_to(PACKAGE).parts[0] != "store":
            found += sql_outside_the_store(f)
    assert found == []
