"""Format the template's Python with ruff by way of a bake: `python scripts/format_bake.py`.

Most of the project's .py files are Jinja templates whose only placeholder is the module name, so a
bake with every task is formatted and each file is mapped back with that name restored. A file with any other
Jinja is left alone and named: format it by hand (the tests run ruff on every bake).
"""

import subprocess
import sys
import tempfile
from pathlib import Path

TEMPLATE = Path(__file__).resolve().parents[1]
SOURCE = TEMPLATE / "{{cookiecutter.project_slug}}"
MODULE, PLACEHOLDER = "kaggle_baseline", "{{ cookiecutter.module_name }}"

with tempfile.TemporaryDirectory() as tmp:
    bin_dir = Path(sys.executable).parent
    subprocess.run(
        [bin_dir / "cookiecutter", "--no-input", "-o", tmp, TEMPLATE, "task=both"], check=True, capture_output=True
    )
    baked = Path(tmp) / "kaggle-baseline"
    subprocess.run([bin_dir / "ruff", "check", "--fix", "--quiet", "."], cwd=baked)
    subprocess.run([bin_dir / "ruff", "format", "--quiet", "."], cwd=baked, check=True)
    for path in baked.rglob("*.py"):
        relative = str(path.relative_to(baked)).replace(f"src/{MODULE}", "src/{{cookiecutter.module_name}}")
        target = SOURCE / relative
        text = path.read_text().replace(MODULE, PLACEHOLDER)
        template = target.read_text().replace(PLACEHOLDER, "")
        if "{{" in template or "{%" in template:
            print("left alone (Jinja beyond the module name):", relative)
        elif target.read_text() != text:
            target.write_text(text)
            print("formatted", relative)
