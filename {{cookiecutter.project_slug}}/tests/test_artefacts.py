"""Missing or partial artefacts of earlier steps: a fold without its weights or with weights cut short, an oof.csv
cut short or edited, a cv.json of another version or cut short, a metrics.json that does not read, pseudo-labels
whose source was trained again between two folds. Predict, blend, bundle, report and pseudo-labels each give one
line naming the fold or the file and the command that redoes it, and that command does."""

import json
import shutil
from pathlib import Path

import pytest
from conftest import exits_with_one_line, needs

import predict as predict_script
import train as train_script


@pytest.fixture(scope="module")
def predicted(two_folds, tmp_path_factory) -> Path:
    """Two trained folds, merged and predicted (each fold's test predictions too), copied once."""
    outputs = tmp_path_factory.mktemp("predicted") / "outputs"
    shutil.copytree(two_folds.output_dir, outputs)
    predict_script.main(["--data.dir", two_folds.data.dir, "--output_dir", str(outputs)])
    return outputs


@pytest.fixture
def experiment(predicted, tmp_path) -> Path:
    """A copy of them to damage."""
    shutil.copytree(predicted, tmp_path / "outputs")
    return tmp_path / "outputs" / "vision_baseline"


def cut(path: Path, keep: float = 0.5) -> None:
    content = path.read_bytes()
    path.write_bytes(content[: int(len(content) * keep)])


def predicting(folder: Path) -> list[str]:
    return ["--output_dir", str(folder.parent)]


def merge_again(folder: Path) -> list[str]:
    return ["--config", str(folder / "config.yaml"), "--output_dir", str(folder.parent), "--fold", "all"]


def test_a_fold_without_its_weights_is_named_with_the_command_that_retrains_it(experiment, capsys):
    (experiment / "fold1" / "model.safetensors").unlink()
    message = exits_with_one_line(predict_script.main, predicting(experiment), capsys)
    assert f"fold 1 of {experiment} finished (metrics.json) but has no model.safetensors" in message
    assert f"python train.py {' '.join(merge_again(experiment)[:4])} --fold 1 --force" in message


def test_weights_cut_short_are_named_with_the_command_that_retrains_them(experiment, capsys):
    cut(experiment / "fold0" / "model.safetensors")
    message = exits_with_one_line(predict_script.main, predicting(experiment), capsys)
    assert f"{experiment / 'fold0' / 'model.safetensors'} does not read as weights" in message
    assert "--fold 0 --force" in message


@needs("submission/bundle")
def test_the_bundle_refuses_a_fold_without_its_weights(experiment, capsys):
    import bundle as bundle_script

    (experiment / "fold0" / "model.safetensors").unlink()
    message = exits_with_one_line(bundle_script.main, predicting(experiment), capsys)
    assert "fold 0 of" in message and "--fold 0 --force" in message


DAMAGE = {  # name: (what is done to the experiment, what the one line says)
    "oof.csv cut short": (lambda f: cut(f / "oof.csv", 0.7), "oof.csv is not the file cv.json was merged from"),
    "oof.csv edited": (
        lambda f: (f / "oof.csv").write_text((f / "oof.csv").read_text().replace(",0.", ",1.", 1)),
        "oof.csv is not the file cv.json was merged from (cut short, edited or replaced since)",
    ),
    "cv.json of another version": (
        lambda f: (f / "cv.json").write_text(
            json.dumps({k: v for k, v in json.loads((f / "cv.json").read_text()).items() if k != "oof_sha256"})
        ),
        "cv.json was written by another version of this project",
    ),
    "cv.json cut short": (lambda f: cut(f / "cv.json"), "cv.json does not read as an experiment's CV"),
}


@needs("ensemble")
@pytest.mark.parametrize("damage", DAMAGE)
def test_a_damaged_oof_or_cv_json_is_refused_by_blend_and_report_and_merged_again(experiment, capsys, damage):
    import blend as blend_script
    import report as report_script

    other = experiment.with_name("vision_copy")
    shutil.copytree(experiment, other)
    change, expected = DAMAGE[damage]
    change(experiment)
    argv = ["vision_baseline", "vision_copy", "--output_dir", str(experiment.parent)]
    message = exits_with_one_line(blend_script.main, argv, capsys)
    assert expected in message and f"python train.py {' '.join(merge_again(experiment))}" in message
    report_script.main(["--output_dir", str(experiment.parent), "--competition", ""])
    printed = capsys.readouterr().out
    assert f"skipped {experiment}: " in printed and expected in printed and "vision_copy" in printed

    train_script.main(merge_again(experiment))  # the command the line gave: merges the folds again
    blend_script.main(argv)
    assert json.loads((experiment.with_name("hill_vision_baseline_and_vision_copy") / "cv.json").read_text())["cv"] > 0


def test_a_metrics_json_that_does_not_read_names_it(experiment, capsys):
    (experiment / "cv.json").unlink()
    cut(experiment / "fold1" / "metrics.json")
    message = exits_with_one_line(train_script.main, merge_again(experiment), capsys)
    assert f"{experiment / 'fold1' / 'metrics.json'} does not read as a fold's metrics" in message
    assert "again with --force" in message


def test_pseudo_labels_from_a_source_whose_oof_was_cut_are_refused(experiment, digits_dir, capsys):
    cut(experiment / "oof.csv", 0.7)
    argv = ["--fold", "0", "--experiment", "pseudo", "--data.pseudo_labels", "vision_baseline"]
    argv += ["--data.dir", str(digits_dir), "--output_dir", str(experiment.parent), "--cv.n_folds", "2"]
    message = exits_with_one_line(train_script.main, argv, capsys)
    assert "oof.csv is not the file cv.json was merged from" in message


def test_folds_trained_on_an_older_version_of_their_pseudo_labels_are_not_merged(experiment, capsys):
    source = ["--config", str(experiment / "config.yaml"), "--output_dir", str(experiment.parent)]
    pseudo = [*source, "--experiment", "pseudo", "--data.pseudo_labels", "vision_baseline"]
    train_script.main([*pseudo, "--fold", "0"])
    # The source changed between this experiment's two folds, as a retrain on another machine would change it (a
    # retrain here gives the same bytes): its fold 0's predictions, merged and predicted again.
    fold_oof = experiment / "fold0" / "oof.csv"
    lines = fold_oof.read_text().splitlines()
    fold_oof.write_text("\n".join([lines[0], lines[1].replace(",0.", ",0.0", 1), *lines[2:]]) + "\n")
    (experiment / "cv.json").unlink()
    train_script.main(merge_again(experiment))
    predict_script.main([*source])
    message = exits_with_one_line(train_script.main, [*pseudo, "--fold", "1"], capsys)  # trains, does not merge
    assert "fold 0 of 'pseudo' trained on pseudo-labels of 'vision_baseline' as it was before" in message
    assert "--fold 0 --force" in message and (experiment.with_name("pseudo") / "fold1" / "metrics.json").is_file()
    assert not (experiment.with_name("pseudo") / "cv.json").exists()
    train_script.main([*pseudo, "--fold", "0", "--force"])
    assert json.loads((experiment.with_name("pseudo") / "cv.json").read_text())["cv"] >= 0
