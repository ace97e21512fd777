"""The baked project's uv.lock, which `make setup` installs exactly, agrees with its pyproject.toml."""

import subprocess
import sys
from pathlib import Path

UV = str(Path(sys.executable).with_name("uv"))


def check_lock(project: Path, offline: bool = True) -> subprocess.CompletedProcess:
    """uv's own check: it fails when pyproject.toml asks for what the lock lacks. A lock that agrees is checked
    without the network; one that does not needs the registry's metadata to say so (uv's cache may lack it)."""
    command = [UV, "lock", "--locked", *(["--offline"] if offline else []), "--project", str(project)]
    return subprocess.run(command, capture_output=True, text=True)


def test_the_lock_agrees_with_the_pins_whatever_the_project_is_called(cookies):
    project = cookies.bake(extra_context={"project_name": "Zebra Comp", "task": "vision"}).project_path
    assert 'name = "zebra-comp"' in (project / "uv.lock").read_text()
    done = check_lock(project)
    assert done.returncode == 0, f"uv.lock is out of date: run `make lock` in the template\n{done.stderr}"

    pyproject = project / "pyproject.toml"
    pins = pyproject.read_text()
    assert '    "pyyaml==6.0.3",\n' in pins
    pyproject.write_text(pins.replace('    "pyyaml==6.0.3",\n', ""))  # a pin dropped
    done = check_lock(project, offline=False)
    assert done.returncode != 0
    assert "needs to be updated" in done.stderr
