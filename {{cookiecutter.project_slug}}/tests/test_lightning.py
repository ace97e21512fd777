"""Lightning's features from the config or one flag: finders, accumulation, early stopping, debug runs, checks."""

import math
from dataclasses import replace

import numpy as np
import pytest
import torch
import yaml
from conftest import PROJECT, TINY, make_cfg
from torch.optim.optimizer import register_optimizer_step_post_hook

from {{ cookiecutter.module_name }}.config import ConfigError, load_config
from {{ cookiecutter.module_name }}.cv.fold import build_fold
from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.cv.split import load_competition
from {{ cookiecutter.module_name }}.cv.tune import find_batch_size, find_lr
from {{ cookiecutter.module_name }}.training import trainer as trainer_module
from {{ cookiecutter.module_name }}.training.finders import steepest_descent
from {{ cookiecutter.module_name }}.training.loggers import check_loggers
from {{ cookiecutter.module_name }}.training.trainer import check_hardware, cpu_has_amx
from train import main

PNG = b"\x89PNG\r\n\x1a\n"


def test_lr_finder_writes_its_plot_and_a_finite_suggestion(cfg, tmp_path):
    plot = tmp_path / "lr.png"
    lr = find_lr(replace(cfg, trainer=replace(cfg.trainer, limit_train_batches=4)), 0, plot, num_training=30)
    assert math.isfinite(lr) and 1e-8 < lr < 1
    assert plot.read_bytes()[:8] == PNG and plot.stat().st_size > 10_000
    assert not cfg.experiment_dir.exists()  # the finder trains a throwaway copy of the fold


def test_the_suggestion_is_the_steepest_fall_over_log_lr():
    """A flat start with a wobble at tiny rates, then the loss falls between 1e-3 and 1e-2. Slopes taken over
    the rate itself (Lightning 2.6's suggestion) would pick the wobble, where the rates are closest."""
    lrs = np.logspace(-8, 0, 100)
    losses = 2.3 - 0.6 / (1 + np.exp(-4 * (np.log10(lrs) + 2.5))) + 0.002 * np.sin(np.arange(100))
    assert 1e-3 < lrs[steepest_descent(lrs, losses)] < 1e-2


def test_find_lr_apply_trains_the_fold_with_the_suggestion(digits_dir, tmp_path, capsys):
    flags = ["--data.dir", str(digits_dir), "--output_dir", str(tmp_path), "--cv.n_folds", "3"]
    flags += [
        "--trainer.max_epochs",
        "1",
        "--trainer.limit_train_batches",
        "4",
        "--trainer.enable_progress_bar",
        "false",
    ]
    main(["--fold", "0", "--find-lr", "apply", *flags])
    out = capsys.readouterr().out
    suggested = float(out.split("suggested learning rate ")[1].split()[0])
    saved = yaml.safe_load((tmp_path / "vision_baseline" / "fold0" / "config.yaml").read_text())
    assert saved["optim"]["lr"] == pytest.approx(suggested)
    assert (tmp_path / "vision_baseline" / "lr_find_fold0.png").read_bytes()[:8] == PNG
    assert (tmp_path / "vision_baseline" / "fold0" / "metrics.json").is_file()


def test_batch_size_finder_doubles_until_the_cap(cfg):
    """On a CPU nothing runs out of memory, so the finder grows the batch until max_val."""
    assert find_batch_size(cfg, 0, max_val=256) == 256


def test_batch_size_finder_stops_at_the_training_rows(digits_dir, tmp_path):
    """2 folds of the 1500-row demo: 750 training rows. A larger batch would leave no training batch at all
    (vision drops the last partial batch), so the finder never goes past the rows, whatever max_val."""
    cfg = make_cfg(digits_dir, tmp_path, n_folds=2, **TINY)
    cfg = replace(cfg, data=replace(cfg.data, batch_size=512))  # one trial, then 1024 is past the rows
    batch_size = find_batch_size(cfg, 0, max_val=8192)
    assert batch_size == 750  # on a CPU nothing runs out of memory: the rows are the cap
    cfg = replace(cfg, data=replace(cfg.data, batch_size=batch_size))
    _, data, _, _ = build_fold(cfg, load_competition(cfg), 0)
    assert len(data.train_rows) == 750 and len(data.train_dataloader()) == 1


def test_batch_size_finder_keeps_the_batch_even_for_mixup(digits_dir, tmp_path):
    """61 rows in 2 folds: one fold trains on an odd number of rows; mixup needs an even batch."""
    small = tmp_path / "small"
    small.mkdir()
    for name in ("train", "test"):
        (small / name).symlink_to(digits_dir / name)
    (small / "train.csv").write_text("".join((digits_dir / "train.csv").read_text().splitlines(True)[:62]))
    for name in ("test.csv", "sample_submission.csv"):
        (small / name).write_text((digits_dir / name).read_text())
    cfg = make_cfg(small, tmp_path / "outputs", n_folds=2, **TINY)
    cfg = replace(cfg, data=replace(cfg.data, batch_size=8), mixup=replace(cfg.mixup, mixup_alpha=0.2))
    train = load_competition(cfg).train
    rows = {fold: int((train.fold != fold).sum()) for fold in (0, 1)}
    odd = next(fold for fold in rows if rows[fold] % 2)
    assert sorted(rows.values()) == [30, 31]
    assert find_batch_size(cfg, odd) == 30


@pytest.mark.parametrize(
    ("accumulate", "schedule", "steps"),
    [(1, {}, 12), (3, {}, 4), (1, {1: 3}, 6 + 2)],  # 2 epochs of 6 batches
)
def test_gradient_accumulation_sets_the_optimizer_step_count(tiny, accumulate, schedule, steps):
    cfg = replace(
        tiny,
        trainer=replace(
            tiny.trainer, max_epochs=2, limit_train_batches=6, limit_val_batches=1, accumulate_grad_batches=accumulate
        ),
        callbacks=replace(tiny.callbacks, accumulate_schedule=schedule),
    )
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    trainer.fit(module, datamodule=data)
    assert trainer.global_step == steps
    assert module.optimizer_steps() == steps  # the LR schedule's length: it ends at the last step
    assert trainer.lr_scheduler_configs[0].scheduler.last_epoch == steps


def largest_gradients(cfg) -> list[float]:
    """The largest gradient entry at each optimizer step of fold 0 (as the step used them: after clipping)."""
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    largest = []

    def record(optimizer, args, kwargs):
        grads = [p.grad.abs().max() for group in optimizer.param_groups for p in group["params"] if p.grad is not None]
        largest.append(float(max(grads)))

    handle = register_optimizer_step_post_hook(record)
    try:
        trainer.fit(module, datamodule=data)
    finally:
        handle.remove()
    return largest


def test_gradient_clipping_by_value_bounds_every_gradient(tiny):
    assert max(largest_gradients(tiny)) > 1e-3
    clipped = largest_gradients(
        replace(tiny, trainer=replace(tiny.trainer, gradient_clip_val=1e-3, gradient_clip_algorithm="value"))
    )
    assert len(clipped) == 4 and max(clipped) == pytest.approx(1e-3)  # clipped at the bound


def test_early_stopping_ends_the_fold_when_the_metric_stalls(tiny):
    # No epoch can beat the first by a whole 1.0 of accuracy: the second validation stops the fold.
    callbacks = replace(tiny.callbacks, early_stopping_patience=0, early_stopping_min_delta=1.0)
    cfg = replace(tiny, callbacks=callbacks, trainer=replace(tiny.trainer, max_epochs=5))
    module, data, trainer, _ = build_fold(cfg, load_competition(cfg), 0)
    trainer.fit(module, datamodule=data)
    assert trainer.current_epoch == 2 and trainer.should_stop


@pytest.mark.parametrize("debug", [{"fast_dev_run": 1}, {"overfit_batches": 2, "max_epochs": 2}])
def test_debug_runs_train_but_write_nothing(tiny, debug, capsys):
    cfg = replace(tiny, trainer=replace(tiny.trainer, **debug))
    assert train(cfg, folds=[0]) == {"metric": "accuracy", "folds": {}, "cv": None}
    assert not cfg.experiment_dir.exists()
    assert "nothing was written" in capsys.readouterr().out


@pytest.mark.skipif(torch.cuda.is_available(), reason="a CUDA GPU runs 16-mixed")
def test_float16_without_a_gpu_is_refused_before_training(tiny):
    cfg = replace(tiny, trainer=replace(tiny.trainer, precision="16-mixed"))
    with pytest.raises(ConfigError, match=r"'trainer.precision': 16-mixed needs a CUDA GPU.*bf16-mixed"):
        check_hardware(cfg)
    with pytest.raises(ConfigError, match=r"trainer\.precision"):
        train(cfg, folds=[0])
    with pytest.raises(ConfigError, match=r"trainer\.precision"):  # the finders train as well
        find_lr(cfg, 0, cfg.experiment_dir / "lr.png")
    assert not cfg.experiment_dir.exists()


def test_bf16_on_a_cpu_without_amx_warns_in_one_line(tiny, monkeypatch, capsys):
    """bf16-mixed runs on any CPU (T5 trains in it in test_text.py) but pays only with AMX: a warning, no error."""
    cfg = replace(tiny, trainer=replace(tiny.trainer, precision="bf16-mixed", accelerator="cpu"))
    monkeypatch.setattr(trainer_module, "cpu_has_amx", lambda: False)
    check_hardware(cfg)
    printed = capsys.readouterr().out.splitlines()
    assert len(printed) == 1 and printed[0].startswith("warning: config key 'trainer.precision': bf16-mixed")
    assert "AMX" in printed[0]
    monkeypatch.setattr(trainer_module, "cpu_has_amx", lambda: True)
    check_hardware(cfg)
    check_hardware(replace(cfg, trainer=replace(cfg.trainer, precision="32-true")))
    assert capsys.readouterr().out == ""


def test_amx_is_read_from_the_cpu_flags(tmp_path):
    cpuinfo = tmp_path / "cpuinfo"
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu sse avx512_bf16 amx_tile\n\n")
    assert not cpu_has_amx(cpuinfo)  # bfloat16 dot products, not AMX's tiles
    cpuinfo.write_text("processor\t: 0\nflags\t\t: fpu avx512f amx_bf16 amx_tile amx_int8\n\n")
    assert cpu_has_amx(cpuinfo)
    assert not cpu_has_amx(tmp_path / "absent")  # not Linux


def test_precision_outside_the_three_is_refused_naming_the_key(tmp_path):
    with pytest.raises(
        ConfigError, match=r"'trainer.precision': '64-true' is not one of 32-true, 16-mixed, bf16-mixed"
    ):
        load_config(PROJECT / "configs" / "vision.yaml", ["--trainer.precision", "64-true"])


@pytest.mark.parametrize("name", ["tensorboard", "mlflow"])
def test_a_logger_that_is_not_installed_is_refused_with_the_install_command(tiny, name):
    from importlib.util import find_spec

    if find_spec(name) or (name == "tensorboard" and find_spec("tensorboardX")):
        pytest.skip(f"{name} is installed")
    with pytest.raises(ConfigError, match=rf"'loggers': {name} is not installed; uv pip install {name}"):
        check_loggers(replace(tiny, loggers=[name]))


def test_accumulation_is_set_one_way_only(tmp_path):
    cosine = ["--optim.schedule", "cosine"]  # cycles refuse an accumulation schedule (test_cycles.py)
    with pytest.raises(ConfigError, match=r"'callbacks.accumulate_schedule' and 'trainer.accumulate_grad_batches'"):
        load_config(
            PROJECT / "configs" / "vision.yaml",
            [*cosine, "--trainer.accumulate_grad_batches", "2", "--callbacks.accumulate_schedule", "{0: 1, 2: 4}"],
        )
    cfg = load_config(PROJECT / "configs" / "vision.yaml", [*cosine, "--callbacks.accumulate_schedule", "{0: 1, 2: 4}"])
    assert cfg.callbacks.accumulate_schedule == {0: 1, 2: 4}
