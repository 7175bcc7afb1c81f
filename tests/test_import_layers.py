"""Imports go one way: no module-level import cycle in ``blog`` or the built-in plugins,
every module imports on its own, and an import inside a function says why it is there."""

from __future__ import annotations

import ast
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
#: Import name of each source folder.
PACKAGES = {"blog": REPO / "blog", "blog_plugins": REPO / "plugins"}


def _modules() -> dict[str, Path]:
    found = {}
    for package, root in PACKAGES.items():
        for path in sorted(root.rglob("*.py")):
            parts = [package, *path.relative_to(root).with_suffix("").parts]
            if "migrations" in parts:
                continue  # Alembic loads revision files itself, by path
            if parts[-1] == "__init__":
                parts.pop()
            found[".".join(parts)] = path
    return found


MODULES = _modules()


def _under_type_checking(node: ast.If) -> bool:
    return "TYPE_CHECKING" in ast.unparse(node.test)


def _run_time_statements(body: list[ast.stmt]) -> Iterator[ast.stmt]:
    """The statements of a module body that run on import (``if``/``try`` blocks included)."""
    for node in body:
        if isinstance(node, ast.If):
            if not _under_type_checking(node):
                yield from _run_time_statements(node.body)
            yield from _run_time_statements(node.orelse)
        elif isinstance(node, ast.Try):
            for block in (node.body, node.orelse, node.finalbody):
                yield from _run_time_statements(block)
            for handler in node.handlers:
                yield from _run_time_statements(handler.body)
        else:
            yield node


def _imported(name: str, path: Path) -> set[str]:
    """Our modules that importing ``name`` imports first, from its module-level statements."""
    package = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
    ancestors = {".".join(package[:i]) for i in range(1, len(package) + 1)}
    targets: set[tuple[str, bool]] = set()  # (module, whether names are read from it)
    for node in _run_time_statements(ast.parse(path.read_text(encoding="utf-8")).body):
        if isinstance(node, ast.Import):
            targets |= {(alias.name, True) for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                base = ".".join([*package[: len(package) - node.level + 1], *filter(None, [base])])
            for alias in node.names:
                submodule = f"{base}.{alias.name}"
                targets.add((submodule, False) if submodule in MODULES else (base, True))
    found = set()
    for target, reads_names in targets:
        parts = target.split(".")
        for length in range(1, len(parts) + 1):
            module = ".".join(parts[:length])
            # The importer's own packages are already being imported when it runs, so they
            # are a dependency only when it reads a name from one of them.
            own_package = module in ancestors and not (module == target and reads_names)
            if module in MODULES and module != name and not own_package:
                found.add(module)
    return found


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """The strongly connected components with more than one module (Tarjan)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []

    def visit(module: str) -> None:
        index[module] = low[module] = len(index)
        stack.append(module)
        on_stack.add(module)
        for dependency in sorted(graph[module]):
            if dependency not in index:
                visit(dependency)
                low[module] = min(low[module], low[dependency])
            elif dependency in on_stack:
                low[module] = min(low[module], index[dependency])
        if low[module] == index[module]:
            component = []
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.append(member)
                if member == module:
                    break
            if len(component) > 1 or module in graph[module]:
                cycles.append(sorted(component))

    for module in sorted(graph):
        if module not in index:
            visit(module)
    return cycles


def test_module_level_imports_form_no_cycle() -> None:
    graph = {name: _imported(name, path) for name, path in MODULES.items()}
    assert graph["blog.admin.editor"] >= {"blog.posts", "blog.admin.refusals"}  # the graph is read
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle_through_a_package() -> None:
    # blog.a's package file reads a name from blog.a.b, which reads one from blog.a.
    graph = {"blog.a": {"blog.a.b"}, "blog.a.b": {"blog.a"}, "blog.c": {"blog.a"}}
    assert _cycles(graph) == [["blog.a", "blog.a.b"]]


# Each module is imported in a child forked from an interpreter that has loaded only the
# standard library and the third-party modules ours import: a fresh interpreter as far as
# our modules are concerned, without paying for Flask, SQLAlchemy and the rest each time.
IMPORT_EACH = """
import importlib, os, sys, traceback
libraries, modules = sys.argv[1].split(), sys.argv[2:]
for library in libraries:
    try:
        importlib.import_module(library)
    except Exception:
        pass  # an optional dependency: the module needing it shows the error
assert not [m for m in sys.modules if m.split(".")[0] in ("blog", "blog_plugins")]
failed = []
for module in modules:
    child = os.fork()
    if child == 0:
        try:
            importlib.import_module(module)
        except BaseException:
            traceback.print_exc()
            os._exit(1)
        os._exit(0)
    _pid, status = os.waitpid(child, 0)
    if status != 0:
        failed.append(module)
print("FAILED", failed)
"""


def _third_party() -> set[str]:
    """Every module outside ours that one of ours imports at module level."""
    names = set()
    for path in MODULES.values():
        for node in _run_time_statements(ast.parse(path.read_text(encoding="utf-8")).body):
            if isinstance(node, ast.Import):
                names |= {alias.name for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
                names.add(node.module)
    return {name for name in names if name.split(".")[0] not in PACKAGES}


@pytest.mark.slow  # about 15 s of CPU: one fork per module, each loading its dependencies
def test_every_module_imports_on_its_own_in_a_fresh_interpreter() -> None:
    result = subprocess.run(
        [sys.executable, "-c", IMPORT_EACH, " ".join(sorted(_third_party())), *MODULES],
        capture_output=True,
        text=True,
        timeout=600,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr
    assert "FAILED []" in result.stdout, result.stderr[-4000:]


def _function_imports(tree: ast.Module) -> Iterator[list[ast.stmt]]:
    """Each run of consecutive import statements inside a function body."""
    for function in ast.walk(tree):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        for block in _blocks(function):
            run: list[ast.stmt] = []
            for statement in block:
                if isinstance(statement, ast.Import | ast.ImportFrom):
                    run.append(statement)
                    continue
                if run:
                    yield run
                run = []
            if run:
                yield run


def _blocks(function: ast.FunctionDef | ast.AsyncFunctionDef) -> Iterator[list[ast.stmt]]:
    """The statement lists of ``function`` itself, not of functions nested in it."""
    pending: list[list[ast.stmt]] = [function.body]
    while pending:
        block = pending.pop()
        yield block
        for statement in block:
            if isinstance(statement, ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef):
                continue
            for field in ("body", "orelse", "finalbody"):
                inner = getattr(statement, field, None)
                if isinstance(inner, list) and inner and isinstance(inner[0], ast.stmt):
                    pending.append(inner)
            for handler in getattr(statement, "handlers", []):
                pending.append(handler.body)


def _explained(lines: list[str], run: list[ast.stmt]) -> bool:
    """A comment on one of the run's lines, or in the comment block right above it."""
    first, last = run[0].lineno, run[-1].end_lineno or run[-1].lineno
    if any("#" in lines[number - 1] for number in range(first, last + 1)):
        return True
    above = first - 2
    return above >= 0 and lines[above].strip().startswith("#")


def test_every_import_inside_a_function_says_why() -> None:
    unexplained = []
    for path in MODULES.values():
        text = path.read_text(encoding="utf-8")
        lines = text.splitlines()
        for run in _function_imports(ast.parse(text)):
            if not _explained(lines, run):
                unexplained.append(f"{path.relative_to(REPO)}:{run[0].lineno}")
    assert unexplained == []
