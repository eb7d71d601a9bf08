"""Tier: structure. No import cycles between the first-level parts of the package.

A part is a subpackage (``scenario``, ``report``...) or a top-level module (``comparison``,
``compile``...). An edge A -> B is any import of B in A's files, lazy imports inside functions
included (they still tie the parts together), ``if TYPE_CHECKING:`` blocks excluded (they never
run). Cycles are the strongly connected components of that graph with more than one part.
Deterministic (the source files only); a synthetic package checks that the rule sees each kind
of cycle the package had (module-level, lazy, relative), so the test can fail.
"""

from __future__ import annotations

import ast
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"

def import_graph(src: Path, package: str) -> dict[str, set[str]]:
    """Edges between the first-level parts of ``package`` under ``src``: ``{part: {imported parts}}``."""
    root = src / package
    parts = {p.stem for p in root.glob("*.py") if p.stem != "__init__"} | {
        p.name for p in root.iterdir() if p.is_dir() and (p / "__init__.py").exists()
    }
    edges: dict[str, set[str]] = {}
    for path in root.rglob("*.py"):
        module = list(path.relative_to(src).with_suffix("").parts)
        if module[-1] == "__init__":
            module = module[:-1]
        if len(module) < 2:
            continue  # the package's own __init__ belongs to no part
        here = module[1]
        tree = ast.parse(path.read_text(encoding="utf-8"))
        skipped = {
            id(n)
            for node in ast.walk(tree)
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.dump(node.test)
            for n in ast.walk(node)
        }
        # The package a relative import starts from: the module's own package.
        base = module if path.name == "__init__.py" else module[:-1]
        for node in ast.walk(tree):
            if id(node) in skipped:
                continue
            targets: list[list[str]] = []
            if isinstance(node, ast.Import):
                targets = [a.name.split(".") for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level:
                    start = base[: len(base) - (node.level - 1)]
                    if node.module:
                        targets = [start + node.module.split(".")]
                    else:
                        targets = [start + [a.name] for a in node.names]
                elif node.module:
                    targets = [node.module.split(".")]
            for t in targets:
                if len(t) > 1 and t[0] == package and t[1] in parts and t[1] != here:
                    edges.setdefault(here, set()).add(t[1])
    return edges


def cycles(edges: dict[str, set[str]]) -> list[frozenset[str]]:
    """Strongly connected components with more than one part (Tarjan's algorithm)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[frozenset[str]] = []

    def visit(v: str) -> None:
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in sorted(edges.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                comp.add(w)
                if w == v:
                    break
            if len(comp) > 1:
                found.append(frozenset(comp))

    for v in sorted(edges):
        if v not in index:
            visit(v)
    return found


def test_no_import_cycles():
    found = cycles(import_graph(SRC, "incentsim"))
    assert not found, f"import cycles: {[sorted(c) for c in found]}"


def _write(root: Path, rel: str, text: str) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_the_check_sees_each_kind_of_cycle(tmp_path):
    # The three cycles the package had, rebuilt in a throwaway package "pkg": a module-level
    # absolute import against a relative one (scenario <-> schemes), a lazy import inside a
    # function (comparison -> report), and a TYPE_CHECKING import that must not count.
    _write(tmp_path, "pkg/__init__.py", "")
    _write(tmp_path, "pkg/scenario/__init__.py", "")
    _write(tmp_path, "pkg/scenario/load.py", "from ..schemes.presets import PRESETS\n")
    _write(tmp_path, "pkg/schemes/__init__.py", "")
    _write(tmp_path, "pkg/schemes/presets.py", "from pkg.scenario import schema\nPRESETS = {}\n")
    _write(tmp_path, "pkg/comparison.py", "def to_json():\n    from .report.json import dump\n")
    _write(tmp_path, "pkg/report/__init__.py", "")
    _write(tmp_path, "pkg/report/json.py", "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from ..comparison import C\n")
    _write(tmp_path, "pkg/report/text.py", "from .. import comparison\n")
    _write(tmp_path, "pkg/stats.py", "import pkg.report.json\n")
    edges = import_graph(tmp_path, "pkg")
    assert edges["scenario"] == {"schemes"} and edges["schemes"] == {"scenario"}
    assert edges["comparison"] == {"report"} and edges["stats"] == {"report"}
    assert sorted(sorted(c) for c in cycles(edges)) == [["comparison", "report"], ["scenario", "schemes"]]
    # Without the runtime import in report/text.py only the TYPE_CHECKING one is left: no cycle.
    (tmp_path / "pkg/report/text.py").write_text("")
    assert cycles(import_graph(tmp_path, "pkg")) == [frozenset({"scenario", "schemes"})]
