import ast
import json
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from conftest import PYTEST, TEMPLATE, run, suite_beside

# Jinja leaves "{{", "{%", "%}" or a spaced " }}"; formatted Python never puts a space before "}}".
UNRENDERED = re.compile(r"{{|{%|%}|\s}}")


NLP_ONLY = (
    "configs/nlp.yaml",
    "src/kaggle_baseline/tasks/text",
    "src/kaggle_baseline/bench/essays.py",
    "docs/nlp.md",
    "tests/test_text.py",
)
DOCS = ("cv", "data", "tricks", "endgame", "kaggle", "scale-out", "bench", "troubleshooting")
# A branch on the task: the config and the tasks' own folders may ask which task they serve, nothing else.
TASK_BRANCH = re.compile(r'cfg\.task\b|\.task ==|"image" in batch|hasattr\(net')


def test_every_task_bakes_the_contract_layout(baked):
    project = baked.project_path
    assert project.name == "kaggle-baseline"
    for path in (
        "train.py",
        "predict.py",
        "configs/vision.yaml",
        "pyproject.toml",
        "Makefile",
        "README.md",
        ".gitignore",
        "src/kaggle_baseline/cv/loop.py",
        *(f"docs/{page}.md" for page in DOCS),
        "bundle.py",
        "configs/sweep.yaml",
        "scripts/parallel_folds.py",
        "scripts/slurm_folds.sbatch",
        "notebooks/eda.ipynb",
        "report.py",
        "blend.py",
        "tests",
    ):
        assert (project / path).exists(), path
    nlp = baked.context["task"] != "vision"
    assert [(project / path).exists() for path in NLP_ONLY] == [nlp] * len(NLP_ONLY)
    default = "configs/nlp.yaml" if baked.context["task"] == "nlp" else "configs/vision.yaml"
    assert f'DEFAULT_CONFIG = "{default}"' in (project / "src/kaggle_baseline/config/load.py").read_text()


def test_only_the_config_and_the_tasks_branch_on_the_task(baked):
    package = baked.project_path / "src" / "kaggle_baseline"
    shared = [path for path in package.rglob("*.py") if path.relative_to(package).parts[0] not in ("tasks", "config")]
    assert len(shared) > 20
    branches = [
        f"{path.relative_to(package)}:{number}: {line.strip()}"
        for path in shared
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if TASK_BRANCH.search(line)
    ]
    assert branches == []


def python_functions(path: Path) -> list[tuple[str, int]]:
    """(name, lines) of every function and method of a module."""
    nodes = ast.walk(ast.parse(path.read_text()))
    return [(node.name, node.end_lineno - node.lineno + 1) for node in nodes if isinstance(node, ast.FunctionDef)]


def test_the_package_reads_in_one_sitting(baked):
    """At most 10 entries at the package root, each module at most 250 lines, each function at most 40; the
    tasks' folders import neither the runner nor the endgame (the project's tests/test_shape.py checks that every
    import points one way)."""
    package = baked.project_path / "src" / "kaggle_baseline"
    entries = sorted(path.name for path in package.iterdir() if path.name != "__pycache__")
    assert len(entries) <= 10, entries
    modules = sorted(package.rglob("*.py"))
    assert len(modules) > 40
    sizes = {str(path.relative_to(package)): len(path.read_text().splitlines()) for path in modules}
    long_modules = [(name, lines) for name, lines in sizes.items() if lines > 250]
    assert long_modules == []
    long_functions = [
        (str(path.relative_to(package)), name, lines)
        for path in modules
        for name, lines in python_functions(path)
        if lines > 40
    ]
    assert long_functions == []
    above = ("cv", "submission", "ensemble", "bench")
    for path in (package / "tasks").rglob("*.py"):
        text = path.read_text()
        assert not [folder for folder in above if f"from ...{folder}" in text or f"from ..{folder}" in text], path


def test_the_readme_is_a_map_of_a_few_screens(baked):
    readme = (baked.project_path / "README.md").read_text()
    assert len(readme.splitlines()) <= 250
    for heading in ("## The two commands", "## Commands", "## Where to change what", "## Folders", "## Docs"):
        assert heading in readme, heading
    for page in re.findall(r"\]\((docs/[\w-]+\.md)", readme):
        assert (baked.project_path / page).is_file(), page


def test_the_eda_notebook_keeps_the_cells_of_the_tasks_baked(baked):
    cells = json.loads((baked.project_path / "notebooks" / "eda.ipynb").read_text())["cells"]
    tags = {tag for cell in cells for tag in cell["metadata"].get("tags", [])}
    assert tags == ({"vision"} if baked.context["task"] == "vision" else {"vision", "nlp"})
    assert not [cell for cell in cells if cell.get("outputs")]


def test_no_file_is_left_unrendered(baked):
    for path in baked.project_path.rglob("*"):
        if path.is_file():
            text = path.read_text(errors="ignore")
            match = UNRENDERED.search(text)
            assert match is None, f"{path.name}: {text[match.start() - 40 : match.end() + 40]!r}"
    assert not [p for p in baked.project_path.rglob("*") if re.search(r"{{|}}|{%|%}", p.name)]


def test_answers_and_template_version_are_recorded(cookies):
    result = cookies.bake(extra_context={"project_name": "Leaf Disease", "n_folds": "4", "seed": "7", "task": "nlp"})
    recorded = json.loads((result.project_path / ".cruft.json").read_text())["context"]["cookiecutter"]
    template = json.loads((TEMPLATE / "cookiecutter.json").read_text())
    assert recorded["_template_version"] == template["_template_version"]
    assert (recorded["project_slug"], recorded["module_name"], recorded["n_folds"], recorded["task"]) == (
        "leaf-disease",
        "leaf_disease",
        "4",
        "nlp",
    )
    config = (result.project_path / "configs" / "vision.yaml").read_text()
    assert "n_folds: 4" in config and "seed: 7" in config and 'project: "leaf-disease"' in config


def test_text_answers_stay_data(cookies):
    """Quotes, triple quotes and backslashes reach the hooks and the generated files as plain text.

    (Cookiecutter itself renders --no-input answers as Jinja before any hook runs: that is upstream.)
    """
    name, author = 'Tricky """Quote""" \\ Name', 'O\'Brien "x"'
    result = cookies.bake(extra_context={"project_name": name, "project_slug": "tricky", "author": author})
    assert result.exit_code == 0, result.exception
    project = tomllib.loads((result.project_path / "pyproject.toml").read_text())["project"]
    assert (project["description"], project["authors"][0]["name"]) == (name, author)
    assert name in (result.project_path / "README.md").read_text()
    compile((result.project_path / "src/tricky/__init__.py").read_text(), "__init__.py", "exec")


@pytest.mark.parametrize(
    ("answers", "message"),
    [
        ({"project_slug": "my project!"}, "project_slug 'my project!' is not a valid package name"),
        ({"project_name": "2024 Comp"}, "module_name '2024_comp' is not a valid Python package name"),
        ({"project_slug": "torch"}, "module_name 'torch' would shadow"),
        ({"module_name": "class"}, "module_name 'class' is not a valid Python package name"),
        ({"n_folds": "1"}, "n_folds '1' must be between 2 and 100"),
        ({"n_folds": "five"}, "n_folds 'five' is not an integer"),
        ({"seed": "4.2"}, "seed '4.2' is not an integer"),
        ({"task": "audio"}, "audio provided for choice variable task"),  # cookiecutter refuses it first
        ({"competition": "Titanic Comp"}, "competition 'Titanic Comp' is not a Kaggle slug"),
        ({"wandb_project": "a/b"}, "wandb_project 'a/b' must use letters"),
    ],
)
def test_invalid_answers_are_refused_naming_them(cookies, capfd, answers, message):
    result = cookies.bake(extra_context=answers)
    assert result.exit_code != 0
    assert message in capfd.readouterr().err + str(result.exception)
    assert result.project_path is None or not result.project_path.exists()


def test_baked_project_is_ruff_clean(baked, tmp_path):
    for check in (["check", "."], ["format", "--check", "."]):
        done = run([sys.executable, "-m", "ruff", *check], baked.project_path, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr


# What each bake's own suite runs here: every test runs in the both bake. A vision bake is the both bake less the
# NLP files (and notebook cells), an nlp bake the both bake with another default config: each imports every test
# module, and runs the tests of what differs in it (its default config, its notebook, its README's map and
# tables, the sweep's config); test_kaggle_image.py trains, predicts and bundles in each from the command line.
TABLE = "tests/test_reliability.py::test_each_row_of_the_troubleshooting_table_names_its_test"
OWN = ["-m", "not slow", "tests/test_config.py", "tests/test_shape.py", TABLE]
SUITES = {"vision": [*OWN, "tests/test_eda.py"], "nlp": [*OWN, "tests/test_scale.py"]}


def test_baked_project_tests_pass(baked, tmp_path):
    """Its own suite, including a real fold on the demo data, on CPU and offline (the both bake's whole suite ran
    in the background meanwhile: conftest.py)."""
    collected = run([*PYTEST, "--collect-only"], baked.project_path, tmp_path)
    assert collected.returncode == 0, collected.stdout[-3000:]  # every test module imports
    task = baked.context["task"]
    done = suite_beside(task) if task == "both" else run([*PYTEST, *SUITES[task]], baked.project_path, tmp_path)
    assert done.returncode == 0, done.stdout[-8000:] + done.stderr[-3000:]
    assert re.search(r"\d+ passed", done.stdout)


def test_gitignore_keeps_every_project_file(baked, tmp_path):
    """A competitor's first commit holds the whole project: data/ and outputs/ are ignored only at the root."""
    project = baked.project_path
    files = [str(p.relative_to(project)) for p in project.rglob("*") if p.is_file()]
    subprocess.run(["git", "init", "-q"], cwd=project, check=True)
    ignored = run(["git", "check-ignore", *files], project, tmp_path).stdout.split()
    assert ignored == []
    for path in ("data/demo/digits/train.csv", "outputs/x/fold0/oof.csv", "wandb/run.log", "kaggle.json"):
        assert run(["git", "check-ignore", "-q", path], project, tmp_path).returncode == 0, path


def test_the_makefile_submits_a_file_or_a_notebook_version_through_the_kaggle_cli(cookies, tmp_path):
    """`make submit` and `make submit-code VERSION=n` as the Kaggle CLI 2.x takes them (a recording stand-in)."""
    project = cookies.bake(extra_context={"task": "vision", "competition": "digit-recognizer"}).project_path
    venv = project / ".venv" / "bin"
    venv.mkdir(parents=True)
    calls = tmp_path / "kaggle.txt"
    for name, body in (("python", f'exec {sys.executable} "$@"'), ("kaggle", f'echo "$@" >> {calls}')):
        (venv / name).write_text(f"#!/bin/sh\n{body}\n")
        (venv / name).chmod(0o755)
    (project / ".venv" / ".installed").touch()  # newer than pyproject.toml and uv.lock: set up
    kernel = project / "bundles" / "vision_baseline" / "kernel"
    kernel.mkdir(parents=True)
    (kernel / "kernel-metadata.json").write_text(json.dumps({"id": "me/kaggle-baseline-vision-baseline-inference"}))

    done = run(["make", "--no-print-directory", "submit-code"], project, tmp_path)
    assert done.returncode != 0
    assert "which version of me/kaggle-baseline-vision-baseline-inference? make submit-code VERSION=<n>" in done.stdout
    for target in (["submit-code", "VERSION=3"], ["submit"]):
        done = run(["make", *target], project, tmp_path)
        assert done.returncode == 0, done.stdout + done.stderr
    assert calls.read_text().splitlines() == [
        "competitions submit digit-recognizer -k me/kaggle-baseline-vision-baseline-inference -v 3 -f submission.csv "
        "-m vision_baseline",
        "competitions submit digit-recognizer -f outputs/vision_baseline/submission.csv -m vision_baseline",
    ]
