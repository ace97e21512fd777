"""The EDA notebook runs headless on the demo data, is committed without outputs, and stops on missing data."""

import json
from dataclasses import replace

import pandas as pd
import pytest
from conftest import PROJECT, notebook_text, run_eda
from nbclient.exceptions import CellExecutionError


def test_the_notebook_is_committed_without_outputs():
    cells = json.loads((PROJECT / "notebooks" / "eda.ipynb").read_text())["cells"]
    code = [cell for cell in cells if cell["cell_type"] == "code"]
    assert code and all(cell["outputs"] == [] and cell["execution_count"] is None for cell in code)


def test_the_notebook_runs_on_the_vision_demo(cfg, tmp_path):
    notebook = run_eda(cfg, tmp_path)
    text = notebook_text(notebook)
    assert "10 classes; the largest is" in text
    assert "largest gap between a fold's class share" in text
    rows = len(pd.read_csv(f"{cfg.data.dir}/train.csv"))
    shapes = {(32, 32, 1): rows}  # the demo's grayscale PNGs
    assert f"train images (height, width, channels): {shapes}" in text
    assert "train images also in test: 0" in text
    assert any(output.get("data", {}).get("image/png") for cell in notebook.cells for output in cell.get("outputs", []))


def test_the_notebook_stops_naming_a_missing_file(cfg, tmp_path):
    (tmp_path / "empty").mkdir()
    with pytest.raises(CellExecutionError, match=r"train\.csv does not exist"):
        run_eda(replace(cfg, data=replace(cfg.data, dir=str(tmp_path / "empty"))), tmp_path)
