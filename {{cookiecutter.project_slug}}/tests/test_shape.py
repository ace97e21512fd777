"""The project's shape, as the README tells it: imports that point one way, a "where to change what" table whose
files and functions exist, and parts that can be removed without breaking train.py and predict.py."""

import ast
import re
import shlex
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import PACKAGE, PROJECT, outputs_and_caches

README = (PROJECT / "README.md").read_text()


def section(title: str) -> str:
    return README.split(f"## {title}\n")[1].split("\n## ")[0]


def package_imports(package: Path) -> dict[str, set[str]]:
    """Each module of the package (dotted, from the package) and the package modules it imports: every relative
    import, at the top, inside a function or for type checkers only."""

    def dotted(path: Path) -> str:
        return ".".join(path.relative_to(package).with_suffix("").parts).removesuffix("__init__").rstrip(".")

    modules = {dotted(path): path for path in package.rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        here = name.split(".") if path.name == "__init__.py" else name.split(".")[:-1]
        graph[name] = set()
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.ImportFrom) and node.level:
                base = [part for part in here[: len(here) - node.level + 1] if part]
                target = ".".join(base + ([node.module] if node.module else []))
                for alias in node.names:
                    imported = f"{target}.{alias.name}".strip(".")
                    graph[name].add(imported if imported in modules else target)
        graph[name].discard(name)
    return graph


def folders(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    """The folders (subpackages, nested ones apart) that each folder's modules import; a folder may use its own
    subfolders, and a subfolder its parent's __init__."""

    def folder(module: str) -> str:
        path = PACKAGE.joinpath(*module.split("."))
        return module if path.is_dir() else module.rpartition(".")[0]

    edges: dict[str, set[str]] = {}
    for module, imported in graph.items():
        for target in imported:
            a, b = folder(module), folder(target)
            if a != b and not b.startswith(f"{a}."):
                edges.setdefault(a, set()).add(b)
    return edges


def cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """A circle of imports, as the names along it, or None."""
    done: set[str] = set()

    def visit(node: str, path: list[str]) -> list[str] | None:
        if node in path:
            return [*path[path.index(node) :], node]
        if node in done:
            return None
        for target in sorted(graph.get(node, ())):
            if found := visit(target, [*path, node]):
                return found
        done.add(node)
        return None

    return next((found for node in sorted(graph) if (found := visit(node, []))), None)


def test_the_package_imports_point_one_way():
    graph = package_imports(PACKAGE)
    assert len(graph) > 40 and "cv.fold" in graph["cv.loop"]  # the walk sees the package
    found = cycle(graph)
    assert found is None, f"a circle of modules: {' -> '.join(found)}"
    found = cycle(folders(graph))
    assert found is None, f"a circle of folders: {' -> '.join(found)}"


def test_a_circle_of_imports_is_named():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert cycle(graph) == ["a", "b", "c", "a"]
    assert cycle({"a": {"b"}, "b": set()}) is None


def test_each_row_of_where_to_change_what_names_a_file_and_function_that_exist():
    rows = [line for line in section("Where to change what").splitlines() if line.startswith("| ")][2:]
    assert len(rows) >= 10
    for row in rows:
        what, file, name = (cell.strip().strip("`") for cell in row.strip("|").split("|")[:3])
        path = PROJECT / file
        assert path.is_file(), f"{what}: {file} does not exist"
        tree = ast.parse(path.read_text())
        owner, _, member = name.partition(".")
        found = [node for node in tree.body if getattr(node, "name", None) == owner]
        assigned = [(node, getattr(node, "targets", [getattr(node, "target", None)])) for node in tree.body]
        found += [node for node, targets in assigned if owner in {getattr(target, "id", None) for target in targets}]
        assert found, f"{what}: {file} has no {owner}"
        if member:
            assert member in {node.name for node in ast.walk(found[0]) if hasattr(node, "name")}, f"{what}: no {name}"


def removals() -> dict[str, list[str]]:
    """The README's `rm -r ...  # the part` lines: each part and the paths that go with it."""
    block = section("Removing what you do not need").split("```bash\n")[1].split("```")[0]
    parts = {}
    for line in block.splitlines():
        command, _, comment = line.partition("#")
        words = shlex.split(command)
        assert words[:2] == ["rm", "-r"], line
        parts[comment.split(":")[0].strip()] = words[2:]
    return parts


def python_files(root: Path) -> list[Path]:
    return [path for path in root.rglob("*.py") if ".venv" not in path.parts]


def imports_of(path: Path, top_level_only: bool) -> set[str]:
    """The absolute module names a file imports (the package's relative imports made absolute)."""
    tree = ast.parse(path.read_text())
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    names = set()
    package = PACKAGE.name
    for node in nodes:
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                here = path.relative_to(PACKAGE.parent).with_suffix("").parts[: -node.level]
                base = ".".join([*here, *([node.module] if node.module else [])])
            else:
                base = node.module or ""
            names |= {base} | {f"{base}.{alias.name}" for alias in node.names}
    return {name for name in names if name.split(".")[0] in (package, *SCRIPTS)}


SCRIPTS = ("train", "predict", "baseline", "blend", "bundle", "report", "bench")


@pytest.mark.parametrize("part", list(removals()))
def test_nothing_left_behind_imports_a_removed_part(part):
    """What stays of the project once `part` is removed imports none of it: the package and the scripts nowhere, a
    test module not at its top (a test of the part inside another file imports it inside itself, marked `needs`)."""
    removed = [PROJECT / path for path in removals()[part]]
    assert all(path.exists() for path in removed), "the README names what this project has"
    modules = {
        ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts).removesuffix(".__init__")
        if path.is_relative_to(PACKAGE)
        else path.stem
        for root in removed
        for path in ([root] if root.is_file() else python_files(root))
    }

    def gone(name: str) -> bool:
        return any(name == module or name.startswith(f"{module}.") for module in modules)

    kept = [path for path in python_files(PROJECT) if not any(path.is_relative_to(root) for root in removed)]
    for path in kept:
        tests = path.is_relative_to(PROJECT / "tests")
        found = sorted(name for name in imports_of(path, top_level_only=tests) if gone(name))
        assert found == [], f"{path.relative_to(PROJECT)} imports {found[0]}, which removing the {part} deletes"


@pytest.mark.slow
def test_train_and_predict_and_their_tests_work_with_every_part_removed(tmp_path):
    project = tmp_path / "project"
    shutil.copytree(PROJECT, project, ignore=outputs_and_caches)
    for paths in removals().values():
        for path in paths:
            (shutil.rmtree if (project / path).is_dir() else Path.unlink)(project / path)
    # Every test module left is collected (a collection error fails the run), and train's and predict's tests run.
    command = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", "test_train.py or test_predict.py"]
    done = subprocess.run(command, cwd=project, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:]
    assert re.search(r"\d+ passed, \d+ deselected", done.stdout), done.stdout[-3000:]
