import pytest
from conftest import PROJECT

from {{ cookiecutter.module_name }}.config import ConfigError, experiment, load_config, save_config
from train import parse_folds

VISION = PROJECT / "configs" / "vision.yaml"


def test_dotted_flags_override_the_yaml():
    cfg = load_config(VISION, ["--trainer.max_epochs", "3", "--optim.lr=0.1", "--data.target_cols", "[a,b]"])
    assert (cfg.trainer.max_epochs, cfg.optim.lr, cfg.data.target_cols) == (3, 0.1, ["a", "b"])
    assert load_config(VISION).trainer.max_epochs != 3


@pytest.mark.parametrize(
    ("overrides", "named"),
    [
        (["--trainer.max_epoch", "3"], "trainer.max_epoch"),  # unknown key
        (["--trainer.max_epochs", "three"], "trainer.max_epochs"),  # wrong type
        (["--metric", "acc"], "metric"),  # not one of the choices
        (["--cv.n_folds", "1"], "cv.n_folds"),
        (["--model.name"], "model.name"),  # no value
        (["--problem", "regression"], "metric"),  # accuracy does not score regression
        (["--cv.splitter", "group"], "cv.group_col"),  # a group split needs its column
        (["--data.num_workers", "many"], "data.num_workers"),  # auto or a count
        (["--data.num_workers", "-1"], "data.num_workers"),
        (["--data.device_augment", "[crop, rotate]"], "data.device_augment"),  # crop, hflip or vflip
        (["--data.device_crop_scale", "[0.5, 0.2]"], "data.device_crop_scale"),  # low above high
    ],
)
def test_bad_overrides_are_refused_naming_the_key(overrides, named):
    with pytest.raises(ConfigError, match=rf"'{named}'"):
        load_config(VISION, overrides)


def test_unknown_key_in_the_yaml_is_refused(tmp_path):
    path = tmp_path / "typo.yaml"
    path.write_text(VISION.read_text().replace("  batch_size:", "  bacth_size:"))
    with pytest.raises(ConfigError, match=r"'data.bacth_size'"):
        load_config(path)


def test_missing_config_file_is_named(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.yaml"):
        load_config(tmp_path / "nope.yaml")


def test_saved_config_loads_back_to_the_same_config(tmp_path):
    cfg = load_config(VISION, ["--model.drop_rate", "0.25", "--trainer.limit_train_batches", "5"])
    save_config(cfg, tmp_path / "config.yaml")
    assert load_config(tmp_path / "config.yaml") == cfg
    assert isinstance(cfg.trainer.limit_train_batches, int)  # an int counts batches for Lightning


def test_fold_selection():
    assert parse_folds("all", 5) == [0, 1, 2, 3, 4]
    assert parse_folds("0,2", 5) == [0, 2]
    with pytest.raises(ConfigError, match="0 to 4"):
        parse_folds("5", 5)
    with pytest.raises(ConfigError, match="'x'"):
        parse_folds("x", 5)


def test_a_task_the_project_was_not_baked_for_is_refused_naming_it(tmp_path, monkeypatch):
    (tmp_path / "vision").mkdir()  # a vision bake's tasks/ folder
    monkeypatch.setattr(experiment, "TASKS_DIR", tmp_path)
    message = r"config key 'task': nlp is not in this project \(it was baked for vision; tasks/text/ is not here\)"
    with pytest.raises(ConfigError, match=message):
        load_config(VISION, ["--task", "nlp"])
    assert load_config(VISION).task == "vision"
