"""The package's import graph: no cycle and no upward edge, function-level imports included.

Every module of ``kanpde/`` is parsed with ``ast`` (nothing is imported), each ``import`` statement anywhere in
it, top level or inside a function, becomes an edge to the kanpde module it names (``from .x import y`` names the
submodule ``x.y`` when there is one, else ``x``). The layers, lowest first, are in ``LAYERS``; an edge may stay
in its layer or point down. docs/architecture.md draws the same map.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = "kanpde"
ROOT = Path(__file__).resolve().parents[1] / PACKAGE

# Lowest first. A module belongs to the layer of the longest prefix that names it (``kanpde.nn`` covers
# ``kanpde.nn.kan``); the package itself and ``__main__`` sit on top.
LAYERS: list[tuple[str, ...]] = [
    ("kanpde.files", "kanpde.memory", "kanpde.checks", "kanpde.cache"),
    ("kanpde.nn",),
    ("kanpde.geometry",),
    ("kanpde.pde",),
    ("kanpde.train",),
    ("kanpde.symbolic", "kanpde.fd", "kanpde.fem", "kanpde.spectral"),
    ("kanpde.io",),
    ("kanpde.solve", "kanpde.compare"),
    ("kanpde.cli",),
    ("kanpde", "kanpde.__main__"),
]


# The CLI resolves problem names from problems/ (DESIGN.md); no other module may import it.
PROBLEMS_ALLOWED = ("kanpde.cli",)

# Known violations, each a key of violations(): none. The test fails on any violation not listed here and on
# an entry that no longer occurs, so a temporary exception must be named and removed again.
PENDING: set[str] = set()


def module_files(root: Path, package: str = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every ``.py`` under ``root`` (``__init__`` names its package)."""
    out = {}
    for path in sorted(root.rglob("*.py")):
        parts = [package, *path.relative_to(root).with_suffix("").parts]
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _absolute(module: str, is_package: bool, node: ast.ImportFrom) -> str:
    """The module an ``ImportFrom`` names, relative levels resolved against ``module``."""
    if node.level == 0:
        return node.module or ""
    base = module.split(".") if is_package else module.split(".")[:-1]
    base = base[:len(base) - (node.level - 1)]
    return ".".join(base + ([node.module] if node.module else []))


def imports_of(module: str, path: Path, known: set[str], package: str = PACKAGE) -> list[tuple[str, int, bool]]:
    """``(target, line, in_function)`` for every import of a module of ``package`` or of ``problems`` in a file."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    is_package = path.name == "__init__.py"
    in_function = {id(n) for f in ast.walk(tree) if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                   for n in ast.walk(f) if n is not f}
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = _absolute(module, is_package, node)
            targets = [f"{base}.{alias.name}" if f"{base}.{alias.name}" in known else base for alias in node.names]
        else:
            continue
        for target in targets:
            if target == "problems" or target.startswith("problems."):
                found.append(("problems", node.lineno, id(node) in in_function))
            elif target == package or target.startswith(package + "."):
                while target not in known and "." in target:  # an attribute path: its module
                    target = target.rsplit(".", 1)[0]
                found.append((target, node.lineno, id(node) in in_function))
    return found


def import_graph(root: Path = ROOT, package: str = PACKAGE) -> dict[str, list[tuple[str, int, bool]]]:
    """Module -> its imports (see :func:`imports_of`), self-imports left out."""
    files = module_files(root, package)
    known = set(files)
    return {m: [e for e in imports_of(m, p, known, package) if e[0] != m] for m, p in files.items()}


def layer_of(module: str, layers=LAYERS) -> int | None:
    """Index of the layer whose longest prefix names ``module``; None when no layer does."""
    best, depth = None, -1
    for index, prefixes in enumerate(layers):
        for prefix in prefixes:
            if (module == prefix or module.startswith(prefix + ".")) and prefix.count(".") > depth:
                best, depth = index, prefix.count(".")
    return best


def find_cycles(graph: dict[str, set[str]]) -> list[list[list[str]]]:
    """For each strongly connected component with a cycle (Tarjan), cycle paths ``[a, b, .., a]`` that together
    pass through every module of it (the shortest through its first module not yet passed, and so on)."""
    index, low, on_stack, stack, components, counter = {}, {}, set(), [], [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on_stack.add(v)
        for w in sorted(graph.get(v, ())):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = set()
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.add(w)
                if w == v:
                    break
            components.append(component)

    for v in sorted(graph):
        if v not in index:
            visit(v)
    cyclic = [c for c in components if len(c) > 1 or next(iter(c)) in graph.get(next(iter(c)), ())]
    return [_covering_cycles(c, graph) for c in sorted(cyclic, key=min)]


def _covering_cycles(component: set[str], graph: dict[str, set[str]]) -> list[list[str]]:
    cycles, passed = [], set()
    while passed != component:
        cycles.append(_cycle_in(component, graph, min(component - passed)))
        passed.update(cycles[-1])
    return cycles


def _cycle_in(component: set[str], graph: dict[str, set[str]], start: str) -> list[str]:
    """A shortest cycle through ``start`` inside its component (breadth first)."""
    parents, frontier = {start: None}, [start]
    while frontier:
        following = []
        for v in frontier:
            for w in sorted(graph.get(v, ())):
                if w == start:
                    path = [v]
                    while parents[path[-1]] is not None:
                        path.append(parents[path[-1]])
                    return [*reversed(path), start]
                if w in component and w not in parents:
                    parents[w] = v
                    following.append(w)
        frontier = following
    raise AssertionError(f"no cycle through {start} in {sorted(component)}")


def violations(graph: dict[str, list[tuple[str, int, bool]]], layers=LAYERS,
               problems_allowed=PROBLEMS_ALLOWED) -> dict[str, str]:
    """Every cycle (as a path), upward edge, import of ``problems`` (outside ``problems_allowed``) and module
    with no layer: a stable key (no line numbers) -> the message that says where."""
    found = {}
    for module in sorted(graph):
        if layer_of(module, layers) is None:
            found[f"layer {module}"] = f"{module} is in no layer: add it to LAYERS (and docs/architecture.md)"
        for target, line, in_function in graph[module]:
            where = f"{module}:{line}{' (in a function)' if in_function else ''}"
            if target == "problems":
                if module not in problems_allowed:
                    found[f"problems {module}"] = f"{where} imports problems/, which is not part of the package"
                continue
            low, high = layer_of(module, layers), layer_of(target, layers)
            if low is not None and high is not None and high > low:
                found.setdefault(f"upward {module} -> {target}",
                                 f"upward edge {where} -> {target} (layer {low} imports layer {high})")
    edges = {m: {t for t, _, _ in imports if t != "problems"} for m, imports in graph.items()}
    for cycles in find_cycles(edges):
        members = sorted({m for cycle in cycles for m in cycle})
        found[f"cycle {' '.join(members)}"] = "; ".join("cycle " + " -> ".join(cycle) for cycle in cycles)
    return found


def test_package_imports_have_no_cycle_and_point_down():
    found = violations(import_graph())
    new = {key: message for key, message in found.items() if key not in PENDING}
    fixed = PENDING - set(found)
    listing = "\n".join(f"{'(pending) ' if key in PENDING else ''}{message}" for key, message in found.items())
    assert not new and not fixed, (f"{len(new)} new import-layering violations, {len(fixed)} PENDING entries "
                                   f"fixed (remove them: {sorted(fixed)}); all found:\n{listing}")


def test_find_cycles_reports_each_cycle_as_a_path():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a", "e"}, "e": {"d"}, "f": {"f"}, "g": {"a"}}
    assert find_cycles(graph) == [[["a", "b", "c", "a"]], [["d", "e", "d"]], [["f", "f"]]]
    two_loops = {"a": {"b", "c"}, "b": {"a"}, "c": {"d"}, "d": {"a"}}       # one component, two cycles through a
    assert find_cycles(two_loops) == [[["a", "b", "a"], ["c", "d", "a", "c"]]]
    assert find_cycles({"a": {"b"}, "b": {"c"}, "c": set()}) == []


def test_violations_names_upward_edges_cycles_and_problems():
    layers = [("p.low",), ("p.high",), ("p",)]
    graph = {"p.low.a": [("p.high.b", 3, True)], "p.high.b": [("p.low.a", 1, False), ("problems", 2, False)],
             "p.high.c": [("p.low.a", 5, False)], "p.odd": []}
    found = violations(graph, layers, problems_allowed=())
    assert found == {
        "upward p.low.a -> p.high.b": "upward edge p.low.a:3 (in a function) -> p.high.b (layer 0 imports layer 1)",
        "problems p.high.b": "p.high.b:2 imports problems/, which is not part of the package",
        "cycle p.high.b p.low.a": "cycle p.high.b -> p.low.a -> p.high.b",
    }                                                         # the downward edge of p.high.c is fine
    assert "problems p.high.b" not in violations(graph, layers, problems_allowed=("p.high.b",))
    assert layer_of("p.odd", layers) == 2                     # the package prefix covers the rest


def test_parser_sees_function_level_and_relative_imports(tmp_path):
    pkg = tmp_path / "pkg"
    (pkg / "sub").mkdir(parents=True)
    (pkg / "__init__.py").write_text("from .sub import mod\n")
    (pkg / "sub" / "__init__.py").write_text("")
    (pkg / "sub" / "mod.py").write_text("import os\n\ndef f():\n    from .. import top\n    from ..top import name\n")
    (pkg / "top.py").write_text("import pkg.sub.mod as m\nfrom problems import poisson2d\n")
    graph = import_graph(pkg, "pkg")
    assert sorted(graph["pkg.sub.mod"]) == [("pkg.top", 4, True), ("pkg.top", 5, True)]
    assert sorted(graph["pkg"]) == [("pkg.sub.mod", 1, False)]
    assert sorted(graph["pkg.top"]) == [("pkg.sub.mod", 1, False), ("problems", 2, False)]
    found = violations(graph, [("pkg.sub",), ("pkg.top",), ("pkg",)])
    assert found["cycle pkg.sub.mod pkg.top"] == "cycle pkg.sub.mod -> pkg.top -> pkg.sub.mod"
    assert found["upward pkg.sub.mod -> pkg.top"].startswith("upward edge pkg.sub.mod:4 (in a function) -> pkg.top")
    assert found["problems pkg.top"] == "pkg.top:2 imports problems/, which is not part of the package"


@pytest.mark.parametrize("module, layer", [("kanpde.nn.jet", 1), ("kanpde.geometry.csg", 2), ("kanpde.checks", 0),
                                           ("kanpde.fd", 5), ("kanpde.cli", 8), ("kanpde", 9)])
def test_layer_map(module, layer):
    assert layer_of(module) == layer


def test_geometry_names_come_from_kanpde_not_from_pde():
    import kanpde
    import kanpde.geometry
    import kanpde.pde

    public = ("Interval", "Rectangle", "Box", "Disk", "TimeInterval", "SpaceTime", "Domain", "Polygon", "Triangle",
              "Ellipse", "Ball", "Sphere", "CSG", "MeshDomain")
    assert all(getattr(kanpde, name) is getattr(kanpde.geometry, name) for name in public)
    assert not [name for name in kanpde.geometry.__all__ if name in kanpde.pde.__all__ or hasattr(kanpde.pde, name)]
    assert kanpde.nn.Jet is kanpde.nn.jet.Jet and kanpde.nn.kan.Jet is kanpde.nn.jet.Jet  # the model file re-exports
