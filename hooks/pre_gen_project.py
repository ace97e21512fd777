"""Refuse invalid answers before anything is generated, with one line naming the answer and the rule.

The answers arrive as a JSON string (rendered through `tojson` twice), so whatever a user typed is read
as data and never becomes code.
"""

import json
import keyword
import re
import sys

ANSWERS = json.loads({{ cookiecutter | tojson | tojson }})

# Module names that would shadow a dependency and break `import <dependency>` inside the project.
SHADOWED = {"torch", "torchvision", "lightning", "timm", "transformers", "tokenizers", "albumentations",
            "wandb", "sklearn", "torchmetrics", "numpy", "pandas", "yaml", "omegaconf", "tests", "test"}

TASKS = ("vision", "nlp", "both")


def _integer(value: str, name: str, low: int, high: int) -> str | None:
    try:
        number = int(str(value).strip())
    except ValueError:
        return f"{name} {value!r} is not an integer"
    if not low <= number <= high:
        return f"{name} {value!r} must be between {low} and {high}"
    return None


def problems(answers: dict) -> list[str]:
    slug, module = answers["project_slug"], answers["module_name"]
    found = []
    if not str(answers["project_name"]).strip() or "\n" in answers["project_name"]:
        found.append(f"project_name {answers['project_name']!r} must be one non-empty line")
    if not re.fullmatch(r"[a-z0-9]([a-z0-9_-]*[a-z0-9])?", slug):
        found.append(f"project_slug {slug!r} is not a valid package name: use lowercase letters, digits, "
                     "'-' and '_', starting and ending with a letter or digit (e.g. 'my-project')")
    if not (module.isidentifier() and module.isascii() and module == module.lower()) or keyword.iskeyword(module):
        found.append(f"module_name {module!r} is not a valid Python package name: use lowercase letters, "
                     "digits and '_', not starting with a digit (e.g. 'my_project')")
    elif module in SHADOWED:
        found.append(f"module_name {module!r} would shadow the package of the same name: choose another")
    if answers["task"] not in TASKS:
        found.append(f"task {answers['task']!r} must be one of {', '.join(TASKS)}")
    if answers["competition"] and not re.fullmatch(r"[a-z0-9][a-z0-9-]*", answers["competition"]):
        found.append(f"competition {answers['competition']!r} is not a Kaggle slug: lowercase letters, "
                     "digits and '-', as in the competition URL (or leave it empty)")
    for key in ("wandb_project", "wandb_entity"):
        value = answers[key]
        if (value or key == "wandb_project") and not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_.-]*", value):
            found.append(f"{key} {value!r} must use letters, digits, '-', '_' and '.' only"
                         + (" (or leave it empty)" if key == "wandb_entity" else ""))
    for problem in (_integer(answers["n_folds"], "n_folds", 2, 100),
                    _integer(answers["seed"], "seed", 0, 2**32 - 1)):
        if problem:
            found.append(problem)
    return found


if __name__ == "__main__":
    found = problems(ANSWERS)
    for problem in found:
        print(f"ERROR: {problem}", file=sys.stderr)
    sys.exit(1 if found else 0)
