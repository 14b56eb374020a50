"""Guards that keep the architecture as docs describe it, read from the source's AST (nothing is imported).

(a) no import cycle between modules at run time; (b) layers import only downward; (c) no module over
MAX_LINES lines without a reason written at its top; (d) byte layouts (``struct``, ``int.from_bytes``,
``.to_bytes(n, "big")``) only in ``gainmap.formats``.

Each rule has a named allowlist of today's offenders. The lists must only shrink: a test fails when an entry no
longer offends, so whoever fixes an offender removes it from the list, and nothing new may be added.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCE_ROOTS = {"gainmap": ROOT / "src" / "gainmap", "gainmap.specs": ROOT / "specs"}

MAX_LINES = 400
#: A module over MAX_LINES lines says why in its docstring, on a line that starts with this marker.
SIZE_MARKER = "Size:"

#: Layers, lowest first: a module may import its own layer and the layers below it, never one above.
LAYERS: list[tuple[str, tuple[str, ...]]] = [
    ("foundation", ("gainmap", "gainmap.errors", "gainmap.metadata", "gainmap.atomic", "gainmap.specs")),
    ("formats", ("gainmap.formats",)),
    ("model", ("gainmap.model",)),
    ("pixels", ("gainmap.hdr", "gainmap.predict")),
    ("analysis", ("gainmap.analysis",)),
    ("editing", ("gainmap.editing",)),
    ("library", ("gainmap.library",)),
    ("testing", ("gainmap.testing",)),
    ("cli", ("gainmap.cli",)),
]

# --------------------------------------------------------------------------------------------- allowlists
# Today's offenders. These lists must only shrink: never add an entry; remove one when it is fixed (the
# *_allowlist_is_current tests fail until you do).

#: (importer, imported) pairs that import upward.
LAYER_ALLOWLIST: set[tuple[str, str]] = set()

#: Modules over MAX_LINES lines with no "Size:" reason at their top.
SIZE_ALLOWLIST: set[str] = {
    "gainmap.formats.mpf",
    "gainmap.predict.training.data",
}

#: Modules outside gainmap.formats that read or write byte layouts by hand.
BYTES_ALLOWLIST: set[str] = {
    # mutators.py split by family (ISO, ICC, JPEG and ExtendedXMP fields now by span): what still offends is
    "gainmap.testing.mutators.mpf",  # MP entry and IFD fields by struct, until formats.mpf has a located record
    "gainmap.testing.mutators.havoc",  # untargeted damage: interesting integers in either byte order (no layout)
}


# --------------------------------------------------------------------------------------------- the graph
@dataclass
class Module:
    name: str
    path: Path
    is_package: bool
    tree: ast.Module
    runtime_imports: set[str] = field(default_factory=set)  # what importing (or calling into) it imports
    typing_imports: set[str] = field(default_factory=set)  # under ``if TYPE_CHECKING:`` only


def _module_name(root_name: str, root: Path, path: Path) -> tuple[str, bool]:
    parts = list(path.relative_to(root).with_suffix("").parts)
    is_package = parts[-1] == "__init__"
    if is_package:
        parts = parts[:-1]
    return ".".join([root_name, *parts]), is_package


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING")


def _import_nodes(tree: ast.AST, typing_only: bool = False):
    """Every import statement (at any depth), with whether it sits under ``if TYPE_CHECKING:``."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, typing_only
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            for child in node.body:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), True)
            for child in node.orelse:
                yield from _import_nodes(ast.Module(body=[child], type_ignores=[]), typing_only)
        else:
            yield from _import_nodes(node, typing_only)


@cache
def modules() -> dict[str, Module]:
    found: dict[str, Module] = {}
    for root_name, root in SOURCE_ROOTS.items():
        for path in sorted(root.rglob("*.py")):
            name, is_package = _module_name(root_name, root, path)
            found[name] = Module(name, path, is_package, ast.parse(path.read_text(), str(path)))
    for mod in found.values():
        package = mod.name if mod.is_package else mod.name.rpartition(".")[0]
        for node, typing_only in _import_nodes(mod.tree):
            targets = set()
            if isinstance(node, ast.Import):
                targets = {alias.name for alias in node.names}
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")
                    anchor = anchor[:len(anchor) - (node.level - 1)]
                    base = ".".join(anchor + ([base] if base else []))
                for alias in node.names:  # "from pkg import submodule" imports the submodule
                    sub = f"{base}.{alias.name}"
                    targets.add(sub if sub in found else base)
            internal = {t for t in targets if t in found and t != mod.name}
            (mod.typing_imports if typing_only else mod.runtime_imports).update(internal)
    for mod in found.values():
        mod.typing_imports -= mod.runtime_imports
    return found


def layer_of(name: str) -> int:
    for index, (_, prefixes) in enumerate(LAYERS):
        if any(name == p or (p != "gainmap" and name.startswith(p + ".")) for p in prefixes):
            return index
    raise AssertionError(f"{name} is in no layer: add it to LAYERS in tests/test_architecture.py")


def strongly_connected_components(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's algorithm, iterative (no recursion limit)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    components: list[list[str]] = []
    counter = 0
    for start in sorted(graph):
        if start in index:
            continue
        work = [(start, iter(sorted(graph[start])))]
        index[start] = low[start] = counter
        counter += 1
        stack.append(start)
        on_stack.add(start)
        while work:
            node, children = work[-1]
            for child in children:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                    break
                if child in on_stack:
                    low[node] = min(low[node], index[child])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[node])
                if low[node] == index[node]:
                    component = []
                    while True:
                        member = stack.pop()
                        on_stack.discard(member)
                        component.append(member)
                        if member == node:
                            break
                    components.append(sorted(component))
    return components


def _cycle_path(graph: dict[str, set[str]], component: list[str]) -> list[str]:
    """One concrete cycle through a component, for the failure message."""
    members = set(component)
    start = component[0]
    path, seen = [start], {start}
    node = start
    while True:
        nxt = sorted(graph[node] & members)
        back = [n for n in nxt if n == start]
        if back and len(path) > 1:
            return [*path, start]
        fresh = [n for n in nxt if n not in seen]
        if not fresh:
            return [*path, nxt[0]] if nxt else path
        node = fresh[0]
        path.append(node)
        seen.add(node)


# --------------------------------------------------------------------------------------------- (a) cycles
def test_the_source_is_found():
    mods = modules()
    assert {"gainmap", "gainmap.formats.jpeg", "gainmap.model.container", "gainmap.cli.main",
            "gainmap.specs"} <= set(mods)
    assert mods["gainmap.model.reader"].runtime_imports  # imports are resolved


def test_no_import_cycle_at_run_time():
    graph = {name: mod.runtime_imports for name, mod in modules().items()}
    cycles = [c for c in strongly_connected_components(graph) if len(c) > 1]
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(_cycle_path(graph, c)) for c in cycles)


# --------------------------------------------------------------------------------------------- (b) layers
def upward_imports() -> set[tuple[str, str]]:
    found = set()
    for name, mod in modules().items():
        for target in mod.runtime_imports | mod.typing_imports:
            if layer_of(target) > layer_of(name):
                found.add((name, target))
    return found


def test_every_module_has_a_layer():
    for name in modules():
        layer_of(name)


def test_layers_import_only_downward():
    new = upward_imports() - LAYER_ALLOWLIST
    assert not new, "upward imports (" + " -> ".join(n for n, _ in LAYERS) + "):\n" + "\n".join(
        f"  {a} ({LAYERS[layer_of(a)][0]}) imports {b} ({LAYERS[layer_of(b)][0]})" for a, b in sorted(new))


def test_layer_allowlist_is_current():
    fixed = LAYER_ALLOWLIST - upward_imports()
    assert not fixed, f"no longer offend; remove them from LAYER_ALLOWLIST: {sorted(fixed)}"


# --------------------------------------------------------------------------------------------- (c) size
def oversized_without_reason() -> set[str]:
    found = set()
    for name, mod in modules().items():
        lines = mod.path.read_text().count("\n")
        doc = ast.get_docstring(mod.tree) or ""
        has_reason = any(line.strip().startswith(SIZE_MARKER) and len(line.strip()) > len(SIZE_MARKER) + 10
                         for line in doc.splitlines())
        if lines > MAX_LINES and not has_reason:
            found.add(name)
    return found


def test_no_module_over_the_size_limit_without_a_reason():
    new = oversized_without_reason() - SIZE_ALLOWLIST
    assert not new, (f"modules over {MAX_LINES} lines: split them, or give the reason on a docstring line "
                     f"starting {SIZE_MARKER!r}: {sorted(new)}")


def test_size_allowlist_is_current():
    fixed = SIZE_ALLOWLIST - oversized_without_reason()
    assert not fixed, f"no longer offend; remove them from SIZE_ALLOWLIST: {sorted(fixed)}"


# --------------------------------------------------------------------------------------------- (d) bytes
def _names_a_byte_order(call: ast.Call) -> bool:
    """The call passes a byte order: a ``byteorder=`` keyword, or "big"/"little" anywhere in its arguments."""
    if any(k.arg == "byteorder" for k in call.keywords):
        return True
    return any(isinstance(n, ast.Constant) and n.value in ("big", "little")
               for arg in call.args for n in ast.walk(arg))


def _byte_layout_uses(tree: ast.AST) -> list[str]:
    uses = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import) and any(a.name == "struct" for a in node.names):
            uses.append(f"line {node.lineno}: import struct")
        elif isinstance(node, ast.ImportFrom) and node.module == "struct" and not node.level:
            uses.append(f"line {node.lineno}: from struct import")
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
            func, order = node.func, _names_a_byte_order(node)
            if func.attr == "from_bytes" and (order or isinstance(func.value, ast.Name) and func.value.id == "int"):
                uses.append(f"line {node.lineno}: .from_bytes")
            elif func.attr == "to_bytes" and order:
                uses.append(f"line {node.lineno}: .to_bytes(n, byteorder)")
    return uses


def byte_layout_offenders() -> dict[str, list[str]]:
    return {name: uses for name, mod in modules().items()
            if not (name == "gainmap.formats" or name.startswith("gainmap.formats."))
            and (uses := _byte_layout_uses(mod.tree))}


def test_byte_layouts_only_in_formats():
    new = {n: u for n, u in byte_layout_offenders().items() if n not in BYTES_ALLOWLIST}
    assert not new, "byte layouts belong in gainmap.formats (read the field from its record there):\n" + "\n".join(
        f"  {n}: {', '.join(u)}" for n, u in sorted(new.items()))


def test_bytes_allowlist_is_current():
    fixed = BYTES_ALLOWLIST - set(byte_layout_offenders())
    assert not fixed, f"no longer offend; remove them from BYTES_ALLOWLIST: {sorted(fixed)}"


# --------------------------------------------------------------------------------------------- the guards work
def test_cycle_finder_finds_a_cycle():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert [sorted(c) for c in strongly_connected_components(graph) if len(c) > 1] == [["a", "b", "c"]]
    assert _cycle_path(graph, ["a", "b", "c"]) == ["a", "b", "c", "a"]


@pytest.mark.parametrize("source, expected", [
    ("import struct", 1), ("from struct import unpack", 1), ("n = int.from_bytes(b, 'big')", 1),
    ("b = n.to_bytes(2, 'big')", 1), ("b = n.to_bytes(2, byteorder='little')", 1),
    ("b = n.to_bytes(4, rng.choice(('big', 'little')))", 1), ("n = x.from_bytes(b, 'little')", 1),
    ("b = gmf.to_bytes()", 0), ("b = writer.to_bytes(self, recompute)", 0), ("n = len(b)", 0),
])
def test_byte_layout_finder(source, expected):
    assert len(_byte_layout_uses(ast.parse(source))) == expected


def test_type_checking_imports_are_not_runtime_edges():
    tree = ast.parse("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\nelse:\n    import b\n"
                     "def f():\n    import c\n")
    got = {(n.names[0].name, t) for n, t in _import_nodes(tree) if isinstance(n, ast.Import)}
    assert got == {("a", True), ("b", False), ("c", False)}
