"""The tree is the architecture: no import circles, no layer reaching up, no doc path astray.

Read statically (``ast``), so every import counts: module level, inside functions, and under
``if TYPE_CHECKING:`` (a type-only import still ties two modules together). Nothing is imported.

The layers of ``keeper``, bottom to top (docs/ARCHITECTURE.md, "Layers"). A module may import
from its own unit and from any unit on a *lower* rank; units on the same rank are siblings and
do not import each other. A module belongs to the unit with the longest matching prefix, so
``keeper.strategy.live`` is a unit above ``keeper.strategy``. A new package must be placed here
(``test_every_module_has_a_layer``) before it can land.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "keeper"

#: rank -> units (module prefixes); lower ranks come first
LAYERS: list[tuple[str, ...]] = [
    # the keeper's error types
    ("keeper", "keeper.exceptions"),
    # settings, start/stop of services, JSON-RPC retries, whole tokens <-> base units
    ("keeper.config", "keeper.lifecycle", "keeper.rpc", "keeper.units"),
    # the chain itself: anvil processes, compiled artifacts, the Head, signing accounts
    ("keeper.chain",),
    # the seeded market and the deployments file
    ("keeper.market",),
    # intents (types, signing, validation, store, intake); routing (quotes, splits, netting)
    ("keeper.intents", "keeper.routing"),
    # the one settlement transaction; the pure strategy decision (it proposes intents)
    ("keeper.settlement", "keeper.strategy"),
    # replays of the pure strategy with the system's costs (reads no chain)
    ("keeper.backtest",),
    # private submission; the strategy against a chain (portfolio, prices, history, watch)
    ("keeper.relay", "keeper.strategy.live"),
    # the service: per-block pipeline, simulation, breaker, metrics, `keeper run`
    ("keeper.daemon",),
    # web pages and JSON API over the store and the live strategy; `keeper run` with it
    ("keeper.dashboard",),
    # everything on one machine (it runs the daemon), and the `keeper` command line
    ("keeper.devstack", "keeper.cli"),
]

#: paths that the docs name but a build makes (not in a fresh clone)
GENERATED = ("contracts/.cache",)
#: top-level folders whose paths the docs must get right
DOC_PATH = re.compile(r"(?<![\w./-])((?:keeper|contracts|scripts|bench|tools|tests)/[\w./*-]*)")


# --- the import graph --------------------------------------------------------------------


def module_files(package: Path = PACKAGE) -> dict[str, Path]:
    """Dotted module name -> file, for every module of the package (``__init__`` as the
    package itself)."""
    out = {}
    for path in sorted(package.rglob("*.py")):
        parts = list(path.relative_to(package.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def imported_names(module: str, path: Path) -> Iterable[tuple[str, str, int]]:
    """Every import statement anywhere in the file, as ``(name, fallback, line)``: the module
    it loads is ``name`` if that is a module, else ``fallback`` (``from a.b import c`` loads
    ``a.b.c`` when ``c`` is a sub-module, else takes the attribute ``c`` of ``a.b``)."""
    is_package = path.name == "__init__.py"
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = module.split(".")[: None if is_package else -1]
                anchor = anchor[: len(anchor) - (node.level - 1)]
                base = ".".join([*anchor, *([base] if base else [])])
            for alias in node.names:
                yield f"{base}.{alias.name}", base, node.lineno


def import_graph(modules: Mapping[str, Path]) -> dict[str, dict[str, int]]:
    """module -> {imported module of the same package: first line importing it}.

    Loading a sub-module runs its parent packages' ``__init__`` first, as for every Python
    package; that implicit step is not an edge (else every package that re-exports its
    modules would be a circle). ``from keeper.routing import Market`` inside
    ``keeper.routing`` *is* an edge to the package's ``__init__``.
    """

    def owner(name: str) -> str:
        while name and name not in modules:
            name = name.rpartition(".")[0]
        return name

    graph: dict[str, dict[str, int]] = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, {})
        for name, fallback, line in imported_names(module, path):
            target = name if name in modules else owner(fallback)
            if target and target != module:
                edges.setdefault(target, line)
    return graph


# --- circles -----------------------------------------------------------------------------


def circles(graph: Mapping[str, Mapping[str, int]]) -> list[list[str]]:
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
        for succ in graph.get(node, {}):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
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
    return sorted(found)


def describe_circle(graph: Mapping[str, Mapping[str, int]], members: list[str]) -> str:
    inside = set(members)
    return "\n".join(
        f"  {a} -> {b} (line {line})"
        for a in members
        for b, line in sorted(graph[a].items())
        if b in inside
    )


def test_no_import_circles() -> None:
    graph = import_graph(module_files())
    found = circles(graph)
    assert not found, "import circles in keeper/:\n" + "\n".join(
        describe_circle(graph, c) for c in found
    )


def test_circles_are_found() -> None:
    """The detector itself: a circle through three modules, one hidden behind an import
    inside a function or under TYPE_CHECKING, is one circle; a chain is none."""
    graph = {"a": {"b": 1}, "b": {"c": 1}, "c": {"a": 9}, "d": {"a": 1}}
    assert circles(graph) == [["a", "b", "c"]]
    assert circles({"a": {"b": 1}, "b": {}}) == []


def test_local_and_type_checking_imports_are_edges(tmp_path: Path) -> None:
    pkg = tmp_path / "pkg"
    pkg.mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "a.py").write_text("def f():\n    from pkg.b import x\n    return x\n")
    (pkg / "b.py").write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from pkg import a\nx = 1\n"
    )
    (pkg / "c.py").write_text("from . import a\nfrom .b import x\n")
    graph = import_graph(module_files(pkg))
    assert graph["pkg.a"] == {"pkg.b": 2}
    assert graph["pkg.b"] == {"pkg.a": 3}
    assert set(graph["pkg.c"]) == {"pkg.a", "pkg.b"}
    assert circles(graph) == [["pkg.a", "pkg.b"]]


# --- layers ------------------------------------------------------------------------------


def unit_of(module: str, layers: list[tuple[str, ...]] = LAYERS) -> tuple[str, int] | None:
    """The unit (longest matching prefix) a module belongs to, and its rank."""
    best: tuple[str, int] | None = None
    for rank, units in enumerate(layers):
        for unit in units:
            if (module == unit or module.startswith(unit + ".")) and (
                best is None or len(unit) > len(best[0])
            ):
                best = (unit, rank)
    return best


def upward_imports(
    graph: Mapping[str, Mapping[str, int]], layers: list[tuple[str, ...]] = LAYERS
) -> list[str]:
    """Every import from a unit that is not strictly lower (other than one's own unit)."""
    bad = []
    for module, edges in sorted(graph.items()):
        here = unit_of(module, layers)
        assert here is not None, module
        for target, line in sorted(edges.items()):
            there = unit_of(target, layers)
            assert there is not None, target
            if there[0] != here[0] and there[1] >= here[1]:
                relation = "a sibling" if there[1] == here[1] else "a layer above"
                bad.append(
                    f"{module} (line {line}) imports {target}: {there[0]} is {relation} "
                    f"of {here[0]}"
                )
    return bad


def test_every_module_has_a_layer() -> None:
    placed = [unit for units in LAYERS for unit in units]
    assert len(placed) == len(set(placed)), "a unit is placed twice"
    missing = [m for m in module_files() if unit_of(m) in (None, ("keeper", 0)) and m != "keeper"]
    assert not missing, (
        "modules outside every layer (place their package in LAYERS, "
        f"tests/keeper/test_architecture.py, and in docs/ARCHITECTURE.md): {missing}"
    )


def test_no_module_imports_from_a_layer_above() -> None:
    bad = upward_imports(import_graph(module_files()))
    assert not bad, "imports that reach up or sideways:\n" + "\n".join(bad)


def test_upward_imports_are_found() -> None:
    layers = [("p", "p.low"), ("p.mid", "p.side"), ("p.top",)]
    graph = {
        "p.low.a": {"p.mid.b": 3},  # up
        "p.mid.b": {"p.side.c": 4, "p.low.a": 1, "p.mid.d": 2},  # sideways; down; own unit
        "p.top": {"p.mid.b": 1},  # down
    }
    assert upward_imports(graph, layers) == [
        "p.low.a (line 3) imports p.mid.b: p.mid is a layer above of p.low",
        "p.mid.b (line 4) imports p.side.c: p.side is a sibling of p.mid",
    ]


# --- the code outside keeper/ that reaches into it ---------------------------------------


def top_level_names(path: Path) -> set[str]:
    """Names a module binds at its top level (definitions, assignments, imports), also inside
    top-level ``if``/``try`` blocks."""
    names: set[str] = set()
    body = list(ast.parse(path.read_text(), str(path)).body)
    while body:
        node = body.pop()
        if isinstance(node, ast.If | ast.Try):
            body.extend([*node.body, *node.orelse, *getattr(node, "finalbody", [])])
            for handler in getattr(node, "handlers", []):
                body.extend(handler.body)
        elif isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
            names.add(node.name)
        elif isinstance(node, ast.Import | ast.ImportFrom):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
        elif isinstance(node, ast.Assign | ast.AnnAssign | ast.AugAssign):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            for target in targets:
                names.update(n.id for n in ast.walk(target) if isinstance(n, ast.Name))
    return names


def unresolved_keeper_imports(files: Iterable[Path], modules: Mapping[str, Path]) -> list[str]:
    """``from keeper… import name`` / ``import keeper…`` anywhere in ``files`` (inside
    functions too) that names no module of keeper, or a name the module does not bind."""
    bad = []
    for path in files:
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            wanted: list[tuple[str, str | None]]
            if isinstance(node, ast.Import):
                wanted = [(a.name, None) for a in node.names]
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                wanted = [(node.module, a.name) for a in node.names]
            else:
                continue
            for module, name in wanted:
                if module.split(".")[0] != "keeper":
                    continue
                where = (
                    f"{path.relative_to(ROOT) if path.is_relative_to(ROOT) else path}:{node.lineno}"
                )
                if module not in modules:
                    bad.append(f"{where}: no module {module}")
                elif (
                    name not in (None, "*")
                    and f"{module}.{name}" not in modules
                    and name not in top_level_names(modules[module])
                ):
                    bad.append(f"{where}: {module} has no {name}")
    return bad


def test_imports_of_keeper_from_bench_scripts_and_tests_resolve() -> None:
    """Benches and scripts are not run by the suite, and their imports sit inside functions:
    a module that moves must not leave them behind."""
    files = [p for d in ("bench", "scripts", "tests") for p in sorted((ROOT / d).rglob("*.py"))]
    bad = unresolved_keeper_imports(files, module_files())
    assert not bad, "imports of keeper that do not resolve:\n" + "\n".join(bad)


def test_unresolved_imports_are_found(tmp_path: Path) -> None:
    user = tmp_path / "bench_x.py"
    user.write_text(
        "def run():\n    from keeper import demo\n    from keeper.devstack.demo import run, nope\n"
    )
    bad = unresolved_keeper_imports([user], module_files())
    assert [b.split(": ", 1)[1] for b in bad] == [
        "keeper has no demo",
        "keeper.devstack.demo has no nope",
    ]


# --- paths named in the docs -------------------------------------------------------------


def doc_paths(text: str) -> set[str]:
    """The repository paths a Markdown text names (``keeper/…``, ``contracts/…``, …)."""
    out = set()
    for match in DOC_PATH.finditer(text):
        path = match.group(1).rstrip(".")
        if not path.startswith(GENERATED):
            out.add(path)
    return out


def missing_paths(paths: Iterable[str], root: Path = ROOT) -> list[str]:
    """The paths (globs allowed) that match nothing; a module may be named without ``.py``."""

    def exists(path: str) -> bool:
        return any(root.glob(path.rstrip("/"))) or (root / f"{path}.py").is_file()

    return sorted(p for p in paths if not exists(p))


def test_paths_named_in_the_docs_exist() -> None:
    docs = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    bad = []
    for doc in docs:
        for path in missing_paths(doc_paths(doc.read_text())):
            bad.append(f"{doc.relative_to(ROOT)}: {path}")
    assert not bad, "paths named in the docs that do not exist:\n" + "\n".join(bad)


def test_doc_paths_are_read_and_checked(tmp_path: Path) -> None:
    text = (
        "see `keeper/daemon/pipeline.py`, `bench/bench_*.py` and keeper/routing/netting, "
        "the `contracts/.cache/` build, and `keeper/gone.py`. Not a path: ape/keeper/x.py"
    )
    assert doc_paths(text) == {
        "keeper/daemon/pipeline.py",
        "bench/bench_*.py",
        "keeper/routing/netting",
        "keeper/gone.py",
    }
    (tmp_path / "keeper/daemon").mkdir(parents=True)
    (tmp_path / "keeper/daemon/pipeline.py").write_text("")
    assert missing_paths(doc_paths(text), tmp_path) == [
        "bench/bench_*.py",
        "keeper/gone.py",
        "keeper/routing/netting",
    ]
