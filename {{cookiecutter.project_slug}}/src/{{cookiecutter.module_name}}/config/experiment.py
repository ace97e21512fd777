"""The whole config, `Config`: its sections, the experiment's own keys, and the checks that span sections."""

from __future__ import annotations

import unicodedata
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING

from ..run import layout
from ..run.errors import ConfigError
from ..run.paths import not_a
from .data import CVConfig, DataConfig
from .metrics import METRICS
from .recipe import AveragingConfig, MixupConfig, ModelConfig, OptimConfig, TTAConfig
from .rules import AUTO, in_range, one_of
from .trainer import CallbacksConfig, TrainerConfig, WandbConfig

# Each task's code lives in tasks/<module>/; a project baked for one task has only that folder.
TASK_MODULES = {"vision": "vision", "nlp": "text"}
TASKS_DIR = Path(__file__).resolve().parents[1] / "tasks"
PROBLEMS = ("multiclass", "binary", "multilabel", "regression")
SUBMISSIONS = ("auto", "label", "probability")
PREDICT_WITH = ("folds", "full", "both")
LOGGERS = ("tensorboard", "mlflow")  # beside CSV and W&B, which are always on
# An experiment names a folder, a W&B group, a Kaggle dataset and a make argument: letters and digits of any script
# (with their combining marks: Hindi's vowel signs, Vietnamese's tones), and . _ -. Whatever else could be a path
# separator, a control or an invisible character, or mean something to the shell or make, is refused.
NAME_SIGNS = "._-"
NAME_RULE = "letters and digits (of any script), '.', '_' and '-', starting with a letter or digit, at most 100"


def name_problem(name: str) -> str | None:
    """What makes `name` no experiment name, or None."""
    if not name:
        return "it is empty"
    if len(name) > 100 or len(name.encode()) > 200:  # 255 bytes a file name, and room for _seed<s>
        return f"it has {len(name)} characters ({len(name.encode())} bytes in UTF-8)"
    if unicodedata.category(name[0])[0] not in "LN":
        return f"it starts with {name[0]!r}"
    for position, char in enumerate(name):
        if unicodedata.category(char)[0] not in "LNM" and char not in NAME_SIGNS:
            return f"{char!r} ({unicodedata.name(char, 'a control character')}) at position {position + 1} is not"
    return None


@dataclass
class Config:
    experiment: str = MISSING  # names the run group in W&B and the folder outputs/<experiment>/
    task: str = "vision"  # vision (images) or nlp (texts)
    seed: int = 42  # the folds' split, and training's random generators
    # Train every fold once per seed listed: each seed a run of its own, outputs/<experiment>/<experiment>_seed<s>/,
    # on the same folds (those of `seed`), and the experiment the mean of their predictions. []: one run, `seed`.
    seeds: list[int] = field(default_factory=list)
    problem: str = "multiclass"  # multiclass, binary, multilabel or regression
    metric: str = "accuracy"  # see metrics.METRICS
    # What submission.csv holds for classification: auto, as sample_submission.csv asks (data/sample.py); labels;
    # or probabilities (binary: of the second class in sorted order; multiclass: one column per class).
    submission: str = "auto"
    # The models predict.py averages: the folds', the full-data refit's (train.py --fold full), or both.
    predict_with: str = "folds"
    output_dir: str = "outputs"
    data: DataConfig = field(default_factory=DataConfig)
    cv: CVConfig = field(default_factory=CVConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    mixup: MixupConfig = field(default_factory=MixupConfig)
    tta: TTAConfig = field(default_factory=TTAConfig)
    averaging: AveragingConfig = field(default_factory=AveragingConfig)
    trainer: TrainerConfig = field(default_factory=TrainerConfig)
    callbacks: CallbacksConfig = field(default_factory=CallbacksConfig)
    wandb: WandbConfig = field(default_factory=WandbConfig)
    loggers: list[str] = field(default_factory=list)  # beside CSV and W&B: tensorboard, mlflow (where installed)

    @property
    def experiment_dir(self) -> Path:
        return layout.experiment_dir(self.output_dir, self.experiment)

    def fold_dir(self, fold: int | str) -> Path:
        return layout.fold_dir(self.experiment_dir, fold)

    @property
    def debug(self) -> bool:
        """A fast_dev_run or overfit_batches run: it checks the code and writes nothing."""
        return bool(self.trainer.fast_dev_run or self.trainer.overfit_batches)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def trainer_kwargs(self) -> dict[str, Any]:
        return self.trainer.kwargs()

    def check(self) -> None:
        """Every key in its range and among its choices, section by section, then what spans sections."""
        self.check_own_keys()
        for section in (self.data, self.cv, self.model, self.optim, self.mixup, self.tta, self.averaging):
            section.check()
        for section in (self.trainer, self.callbacks, self.wandb):
            section.check()
        check_across(self)
        (check_text if self.task == "nlp" else check_vision)(self)

    def check_own_keys(self) -> None:
        problem = name_problem(self.experiment)
        if problem:
            raise ConfigError(
                f"config key 'experiment': {self.experiment!r} is no name of {NAME_RULE} ({problem}): it names a "
                "folder, a W&B group, a make argument and a Kaggle dataset"
            )
        for key, folder in (("output_dir", self.output_dir), ("data.cache_dir", self.data.cache_dir),
                            ("cv.folds_dir", self.cv.folds_dir)):  # fmt: skip
            if folder and Path(folder).exists() and (problem := not_a(folder, "folder")):
                raise ConfigError(f"config key {key!r}: {problem}")
        for key, seed in [("seed", self.seed), *((f"seeds[{i}]", seed) for i, seed in enumerate(self.seeds))]:
            in_range(key, seed, 0 <= seed < 2**32, "a whole number from 0 to 4294967295")
        if len(set(self.seeds)) < len(self.seeds):
            raise ConfigError(f"config key 'seeds': {self.seeds} names a seed twice; each seed trains one run")
        one_of("task", self.task, TASK_MODULES)
        module = TASK_MODULES[self.task]
        if not (TASKS_DIR / module).is_dir():
            baked = ", ".join(task for task, name in TASK_MODULES.items() if (TASKS_DIR / name).is_dir())
            raise ConfigError(
                f"config key 'task': {self.task} is not in this project (it was baked for {baked}; tasks/{module}/ is "
                "not here): bake a new project with task=both to have both"
            )
        one_of("problem", self.problem, PROBLEMS)
        one_of("metric", self.metric, METRICS)
        one_of("submission", self.submission, SUBMISSIONS)
        one_of("predict_with", self.predict_with, PREDICT_WITH)
        if self.problem not in METRICS[self.metric].problems:
            fits = ", ".join(name for name, metric in METRICS.items() if self.problem in metric.problems)
            raise ConfigError(
                f"config key 'metric': {self.metric!r} does not score a {self.problem} problem; use one of {fits}"
            )
        unknown = [name for name in self.loggers if name not in LOGGERS]
        if unknown:
            shown = ", ".join(LOGGERS)
            raise ConfigError(f"config key 'loggers': {unknown} is not among {shown} (CSV and W&B are always on)")


def check_across(cfg: Config) -> None:
    """Keys that are each fine alone and refused together."""
    if cfg.mixup.enabled and cfg.data.batch_size % 2:
        raise ConfigError(f"config key 'data.batch_size': mixup mixes pairs, so {cfg.data.batch_size} must be even")
    a = cfg.averaging
    epochs = cfg.trainer.max_epochs
    if a.weights == "swa" and epochs != AUTO and not 0 <= a.swa_start_epoch < epochs:
        raise ConfigError(
            f"config key 'averaging.swa_start_epoch': {a.swa_start_epoch} must be an epoch of the run "
            f"(0 to {cfg.trainer.max_epochs - 1})"
        )
    if cfg.optim.schedule == "cycles":
        # SWA averages the epoch ends of one run to its end; cycles restart the rate and may stop early. The
        # restarts sit at epoch ends counted from equal epochs, which the other two keys would make unequal.
        clash = {
            "averaging.weights": a.weights == "swa",
            "callbacks.accumulate_schedule": bool(cfg.callbacks.accumulate_schedule),
            "trainer.max_steps": cfg.trainer.max_steps != -1,
        }
        for key in (key for key, clashes in clash.items() if clashes):
            raise ConfigError(f"config key 'optim.schedule': cycles do not go with {key}; use cosine or linear")
    if a.weights == "swa" and a.swa_lr is not None and cfg.optim.schedule == "onecycle":
        raise ConfigError("config key 'averaging.swa_lr': OneCycle owns the learning rate; use cosine or linear")
    if cfg.callbacks.accumulate_schedule and cfg.trainer.accumulate_grad_batches != 1:
        raise ConfigError(
            "config keys 'callbacks.accumulate_schedule' and 'trainer.accumulate_grad_batches': set one of them"
        )
    if cfg.optim.freeze_backbone_epochs and cfg.trainer.strategy == "ddp":
        raise ConfigError(
            "config key 'trainer.strategy': a frozen backbone leaves weights without gradients, which plain ddp "
            "refuses; use ddp_find_unused_parameters_true with optim.freeze_backbone_epochs"
        )


def check_vision(cfg: Config) -> None:
    if cfg.optim.backbone_lr == AUTO:
        raise ConfigError("config key 'optim.backbone_lr': auto is for pretrained text encoders; set a rate or null")
    if cfg.optim.layer_decay != 1:
        raise ConfigError("config key 'optim.layer_decay' is for nlp encoders; vision backbones use optim.backbone_lr")


def check_text(cfg: Config) -> None:
    if not 1 <= len(cfg.data.text_cols) <= 2:
        raise ConfigError(f"config key 'data.text_cols': {cfg.data.text_cols} must name one text column, or two")
    if cfg.tta.on:
        raise ConfigError("config key 'tta.views': test-time augmentation is for images; use [identity] for nlp")
    if cfg.data.device_augment:
        raise ConfigError("config key 'data.device_augment': crops and flips are for images; use [] for nlp")
    if cfg.mixup.cutmix_alpha > 0 or cfg.mixup.mode != "batch":
        raise ConfigError("config key 'mixup': nlp mixes pooled features, one lambda per batch: set cutmix_alpha 0")
    if cfg.model.mode == "text2text":
        if cfg.problem not in ("multiclass", "binary"):
            raise ConfigError(f"config key 'model.mode': text2text generates one label per row, not {cfg.problem}")
        if cfg.mixup.enabled:
            raise ConfigError("config key 'mixup': text2text has no pooled features to mix; set mixup_alpha 0")
        if cfg.optim.freeze_backbone_epochs:
            raise ConfigError("config key 'optim.freeze_backbone_epochs': text2text has no head to train alone")
