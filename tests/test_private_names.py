"""No private name (``_x``) crosses a module boundary inside searchkit/: a module that needs
another's helper gets it under a public name. Checked on the source, by an AST scan of
``from M import _x`` and of ``M._x`` where M is a searchkit module the file imported."""

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
