"""Remove what the chosen task does not use, record the answers in .cruft.json, then print the next steps."""

import json
import os
import shutil
import subprocess
from pathlib import Path

ANSWERS = json.loads({{ cookiecutter | tojson | tojson }})

# Paths (relative to the project) that only one task uses. The vision slice stays in an nlp project:
# the shared runner's tests (folds, CV, resume, W&B, predict) run on the digits demo.
MODULE = Path("src") / ANSWERS["module_name"]
ONLY_FOR: dict[str, list[Path]] = {
    "vision": [],
    "nlp": [
        Path("configs/nlp.yaml"),
        MODULE / "tasks" / "text",
        MODULE / "bench" / "essays.py",
        Path("docs/nlp.md"),
        Path("tests/test_text.py"),
    ],
}


def prune(root: Path, task: str) -> None:
    for other, paths in ONLY_FOR.items():
        if task in (other, "both"):
            continue
        for relative in paths:
            path = root / relative
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
        if paths:  # nothing of vision is pruned from an nlp project, its notebook cells neither
            prune_cells(root / "notebooks" / "eda.ipynb", other)


def prune_cells(notebook: Path, tag: str) -> None:
    """Drop the notebook's cells tagged for a task the project does not have."""
    content = json.loads(notebook.read_text())
    content["cells"] = [cell for cell in content["cells"] if tag not in cell["metadata"].get("tags", [])]
    notebook.write_text(json.dumps(content, indent=1, ensure_ascii=False) + "\n")


# cookiecutter's short names for git hosts, as cruft needs them spelt out
ABBREVIATIONS = {"gh": "https://github.com/{}.git", "gl": "https://gitlab.com/{}.git", "bb": "https://bitbucket.org/{}"}
MACHINE_KEYS = ("_output_dir", "_repo_dir", "_checkout")  # where this bake ran, not what it answered


def template_source(answers: dict) -> tuple[str, str | None]:
    """The template as cruft clones it (a git URL, or a local folder made absolute), and its commit, or None
    where the template is not a git repository."""
    template = answers["_template"]
    prefix, _, rest = template.partition(":")
    if prefix in ABBREVIATIONS and rest:
        template = ABBREVIATIONS[prefix].format(rest)
    repo = Path(answers["_repo_dir"]).expanduser()
    if not repo.is_absolute():  # a local template named from the folder cookiecutter was run in
        repo = Path(os.environ.get("PWD", ".")) / repo
        template = str(repo.resolve())
    try:
        done = subprocess.run(["git", "rev-parse", "HEAD"], cwd=repo, capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return template, None
    return template, done.stdout.strip() if done.returncode == 0 else None


def write_cruft_state(root: Path, answers: dict) -> str | None:
    """.cruft.json as `cruft create` writes it, so that `cruft update` can bring in the template's later
    commits; the template's commit, or None where it has none."""
    template, commit = template_source(answers)
    context = {key: value for key, value in answers.items() if key not in MACHINE_KEYS}
    state = {
        "template": template,
        "commit": commit,
        "checkout": answers.get("_checkout"),
        "context": {"cookiecutter": {**context, "_template": template, "_commit": commit}},
        "directory": None,
        "skip": ["uv.lock"],  # the project's own lock: `make lock` after an update, not a patch of it
    }
    (root / ".cruft.json").write_text(json.dumps(state, indent=2, ensure_ascii=False) + "\n")
    return commit


if __name__ == "__main__":
    prune(Path.cwd(), ANSWERS["task"])
    # cruft renders the template itself (create, diff, update: no _repo_dir in the answers) and writes
    # .cruft.json; its renders print nothing.
    if "_repo_dir" in ANSWERS:
        if write_cruft_state(Path.cwd(), ANSWERS) is None:
            print("The template is not a git repository: `cruft link <template URL>` connects this project to it.")
        print(f"""
Created {ANSWERS['project_slug']}/ ({ANSWERS['task']}). Next steps:

    cd {ANSWERS['project_slug']}
    make setup                 # .venv with exactly the libraries of uv.lock
    make train                 # fold 0 on the embedded demo competition
    make cv                    # every fold, oof.csv and cv.json
    make predict               # submission.csv from the trained folds
    make test                  # the project's own tests
""")
