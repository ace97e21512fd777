"""Remove what the chosen task does not use, then print the next steps."""

import json
import shutil
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


if __name__ == "__main__":
    prune(Path.cwd(), ANSWERS["task"])
    print(f"""
Created {ANSWERS['project_slug']}/ ({ANSWERS['task']}). Next steps:

    cd {ANSWERS['project_slug']}
    make setup                 # virtual environment with the pinned dependencies (.venv)
    make train                 # fold 0 on the embedded demo competition
    make cv                    # every fold, oof.csv and cv.json
    make predict               # submission.csv from the trained folds
    make test                  # the project's own tests
""")
