"""The experiment config: typed dataclasses, filled from one YAML file and then from dotted flags.

`load_config("configs/vision.yaml", ["--trainer.max_epochs", "3"])` returns a `Config`. An unknown key,
a wrong type or a value outside its choices raises `ConfigError` naming the key, before any work starts.
"""

from __future__ import annotations

import argparse
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import yaml
from omegaconf import MISSING, DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .atomic import write_text
from .errors import ConfigError
from .metrics import METRICS
from .tta import VIEWS

DEFAULT_CONFIG = "configs/{{ 'nlp' if cookiecutter.task == 'nlp' else 'vision' }}.yaml"  # the task chosen when baking
TASKS = ("vision", "nlp")
PROBLEMS = ("multiclass", "binary", "multilabel", "regression")
SPLITTERS = ("kfold", "stratified", "group", "stratified_group", "multilabel")
SUBMISSIONS = ("label", "probability")
OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "linear", "onecycle", "constant")
TEXT_MODES = ("encoder", "text2text")
PADDINGS = ("dynamic", "max_length")
WEIGHTS = ("best", "top_k", "swa")
MIXUP_MODES = ("batch", "pair", "elem")
PRECISIONS = ("32-true", "16-mixed", "bf16-mixed")
CLIP_ALGORITHMS = (None, "norm", "value")
PROFILERS = (None, "simple", "advanced", "pytorch")
LOGGERS = ("tensorboard", "mlflow")  # beside CSV and W&B, which are always on
WANDB_MODES = (None, "online", "offline", "disabled")
# An experiment names a folder, a W&B group, a Kaggle dataset and a make argument: letters, digits, . _ -
EXPERIMENT_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
# ${name:argument}: an OmegaConf resolver. Plain ${key} interpolation stays; a resolver could pull a secret
# from the environment into config.yaml, the checkpoints, W&B and the Kaggle bundle. The W&B agent's run id
# (configs/sweep.yaml names each trial's experiment with it) is the one exception.
RESOLVER = re.compile(r"\$\{\s*([\w.]+)\s*:([^}]*)\}?")
ALLOWED_RESOLVERS = {("oc.env", "WANDB_RUN_ID")}


@dataclass
class DataConfig:
    dir: str = MISSING  # the competition folder: train.csv, test.csv, sample_submission.csv, images
    train_csv: str = "train.csv"
    test_csv: str = "test.csv"
    sample_submission: str = "sample_submission.csv"
    id_col: str = "id"
    target_cols: list[str] = field(default_factory=lambda: ["label"])
    batch_size: int = 64
    num_workers: int = 0
    # nlp: one text column, or two for pairs (tokenized together, separated by the tokenizer's token).
    text_cols: list[str] = field(default_factory=lambda: ["text"])
    max_length: int = 256  # tokens; longer texts are truncated
    padding: str = "dynamic"  # dynamic: to the longest text of each batch; max_length: every batch to max_length
    group_by_length: bool = True  # training batches of similar lengths (less padding), still shuffled
    # vision: where a row's image lives, relative to `dir`, filled from the row's columns.
    train_image: str = "train/{id}.png"
    test_image: str = "test/{id}.png"
    image_size: int = 32
    # albumentations pipelines, one {TransformName: {argument: value}} per step. Normalize (with the
    # backbone's mean and std) and ToTensorV2 are appended when missing.
    train_transforms: list[dict[str, Any]] = field(default_factory=list)
    valid_transforms: list[dict[str, Any]] = field(default_factory=list)
    # Rows whose image is missing or unreadable, or whose text is empty: false refuses them, naming the
    # first; true leaves such training rows out and predicts such test rows from a blank input, printing
    # the count. Reads every image once to find the unreadable ones.
    skip_bad_rows: bool = False


@dataclass
class CVConfig:
    n_folds: int = 5
    # kfold, stratified (on the target), group (no group in two folds), stratified_group, multilabel
    # (iterative stratification of several 0/1 targets)
    splitter: str = "stratified"
    group_col: str | None = None  # group and stratified_group: rows sharing this value stay in one fold
    folds_dir: str | None = (
        None  # where the folds file is kept; null: beside the data (set it when data.dir is read-only)
    )


@dataclass
class ModelConfig:
    # vision: any timm model name. nlp: a Hugging Face model name or a local folder holding its
    # config.json and tokenizer (and weights, when pretrained).
    name: str = MISSING
    # Pretrained weights: from the hub, from the local folder `name` (nlp) or from weights_file (vision).
    pretrained: bool = False
    drop_rate: float = 0.0  # dropout before the head
    compile: bool = False  # torch.compile the network
    # vision
    weights_file: str | None = None  # local pretrained weights (.safetensors, .pth or .bin) for `name`
    in_chans: int = 3  # 3: RGB; 1: grayscale
    drop_path_rate: float = 0.0
    channels_last: bool = False  # faster convolutions on GPUs with tensor cores
    # nlp
    mode: str = "encoder"  # encoder: any encoder + mean pooling + head; text2text: T5 generates the label
    tokenizer: str | None = None  # a name or folder; null: the model's own
    gradient_checkpointing: bool = False  # less memory for longer texts, about a third slower


@dataclass
class OptimConfig:
    name: str = "adamw"  # adamw or sgd
    lr: float = 1e-3  # the head's learning rate, and the backbone's unless backbone_lr is set
    backbone_lr: float | None = None
    weight_decay: float = 0.01
    momentum: float = 0.9  # sgd only
    # cosine or linear (linear warmup, then cosine or linear decay to 0), onecycle or constant; per step
    schedule: str = "cosine"
    warmup_pct: float = 0.1  # share of all steps spent warming up
    # nlp: layer-wise learning-rate decay; each encoder layer down from the top gets this factor more.
    layer_decay: float = 1.0
    label_smoothing: float = 0.0
    # Train the head alone for this many epochs (the backbone frozen, in the optimizer at backbone_lr), then all.
    freeze_backbone_epochs: int = 0


@dataclass
class MixupConfig:
    """timm's Mixup/CutMix; on when either alpha is above 0. nlp: mixup of the pooled features (no cutmix)."""

    mixup_alpha: float = 0.0
    cutmix_alpha: float = 0.0
    prob: float = 1.0  # chance a batch is mixed
    switch_prob: float = 0.5  # chance of cutmix rather than mixup when both are on
    mode: str = "batch"  # batch, pair or elem: one lambda per batch, per pair or per element
    off_last_epochs: int = 0  # train the last epochs on clean images

    @property
    def enabled(self) -> bool:
        return self.mixup_alpha > 0 or self.cutmix_alpha > 0


@dataclass
class TTAConfig:
    """Test-time augmentation: views of each image predicted in one batch and averaged."""

    # identity, hflip, vflip, rot90, rot180, rot270, transpose, transverse (the eight of D4)
    views: list[str] = field(default_factory=lambda: ["identity"])


@dataclass
class AveragingConfig:
    """Weight averaging. The OOF, the CV score and the exported weights come from `weights`; cv.json also
    scores the best single checkpoint when they are averaged."""

    # best: the checkpoint with the best validation score (EMA weights when ema is on);
    # top_k: the mean of the top_k checkpoints; swa: the mean of the weights at the end of each epoch from
    # swa_start_epoch on. Averages get their BatchNorm statistics recomputed on the training fold.
    weights: str = "best"
    top_k: int = 3  # checkpoints kept and, with weights: top_k, averaged
    ema: bool = False  # validate, checkpoint and predict with an exponential moving average of the weights
    ema_decay: float = 0.999
    ema_every_n_steps: int = 1
    ema_start_step: int = 0  # optimizer steps before the first update
    ema_warmup: bool = True  # a smaller decay for the first updates, growing to ema_decay (short runs need it)
    swa_start_epoch: int = 1  # the first epoch whose end weights join the SWA average (counted from 0)
    swa_lr: float | None = None  # the head's rate while averaging (other groups keep their ratio); null: as scheduled
    swa_anneal_epochs: int = 1  # epochs of cosine anneal from the scheduled rate to swa_lr


@dataclass
class TrainerConfig:
    """Passed to `lightning.Trainer`: each key is the Trainer argument of the same name; null leaves
    Lightning's default."""

    max_epochs: int = 10
    max_steps: int = -1  # stop after this many optimizer steps; -1: after max_epochs
    accelerator: str = "auto"  # auto, cpu, gpu
    devices: Any = "auto"  # a count or a list of GPU indices; several run DDP (set strategy: ddp)
    strategy: str = "auto"  # ddp for several GPUs; ddp_find_unused_parameters_true if some weights go unused
    num_nodes: int = 1
    sync_batchnorm: bool = False  # DDP: BatchNorm statistics over every GPU's batch
    precision: str = "32-true"  # 32-true, 16-mixed (CUDA GPUs), bf16-mixed (Ampere+ GPUs; CPUs only with AMX)
    accumulate_grad_batches: int = 1  # see also callbacks.accumulate_schedule
    gradient_clip_val: float | None = None
    gradient_clip_algorithm: str | None = None  # norm (the default) or value
    deterministic: bool = False  # deterministic CUDA kernels: bit-equal reruns, somewhat slower
    benchmark: bool | None = None  # cudnn autotuning; null: on unless deterministic
    log_every_n_steps: int = 10
    limit_train_batches: int | float | None = None  # an int counts batches, a float is a share of them
    limit_val_batches: int | float | None = None
    num_sanity_val_steps: int = 2
    enable_progress_bar: bool = True
    enable_model_summary: bool = True
    profiler: str | None = None  # simple, advanced or pytorch: where the time goes, printed after fit
    # Debug runs: nothing is written and no fold is marked finished.
    fast_dev_run: int = 0  # run this many batches of training and validation, once
    overfit_batches: int | float = 0  # train and validate on these few training batches (loss should reach 0)


@dataclass
class CallbacksConfig:
    """Lightning callbacks beyond the checkpoint (always on: best/top-k by the metric, and last.ckpt)."""

    early_stopping_patience: int | None = None  # stop after this many epochs without improvement; null: off
    early_stopping_min_delta: float = 0.0
    # {epoch: batches}: from each epoch on, accumulate gradients over that many batches
    # (GradientAccumulationScheduler); use instead of trainer.accumulate_grad_batches.
    accumulate_schedule: dict[int, int] = field(default_factory=dict)
    lr_monitor: bool = True  # log the learning rates


@dataclass
class WandbConfig:
    project: str = MISSING
    entity: str | None = None
    # online, offline or disabled; empty means online with credentials, offline without them.
    # The WANDB_MODE environment variable wins over this.
    mode: str | None = None


@dataclass
class Config:
    experiment: str = MISSING  # names the run group in W&B and the folder outputs/<experiment>/
    task: str = "vision"  # vision (images) or nlp (texts)
    seed: int = 42
    problem: str = "multiclass"  # multiclass, binary, multilabel or regression
    metric: str = "accuracy"  # see metrics.METRICS
    # What submission.csv holds for classification: labels, or probabilities (binary: of the second
    # class in sorted order; multiclass: one column per class, named as the classes).
    submission: str = "label"
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
        return Path(self.output_dir) / self.experiment

    def fold_dir(self, fold: int) -> Path:
        return self.experiment_dir / f"fold{fold}"

    @property
    def debug(self) -> bool:
        """A fast_dev_run or overfit_batches run: it checks the code and writes nothing."""
        return bool(self.trainer.fast_dev_run or self.trainer.overfit_batches)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def trainer_kwargs(self) -> dict[str, Any]:
        return {key: value for key, value in asdict(self.trainer).items() if value is not None}


# Keys that change how a run looks or runs, not what it learns: they may differ between folds.
RUNTIME_KEYS = {
    "output_dir",
    "data.num_workers",
    "loggers",
    "callbacks.lr_monitor",
    *(f"trainer.{key}" for key in ("accelerator", "devices", "num_nodes", "strategy", "profiler")),
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
}


def config_changes(cfg: Config, saved: Path) -> list[str]:
    """The keys whose values differ between `cfg` and the config saved at `saved`, as 'key: old -> new'."""

    def flat(node: Any, key: str = "") -> dict[str, Any]:
        if not isinstance(node, dict):
            return {key: node}
        return {k: v for name, value in node.items() for k, v in flat(value, f"{key}.{name}" if key else name).items()}

    old, new = flat(load_config(saved).to_dict()), flat(cfg.to_dict())
    return [
        f"{k}: {old.get(k)!r} -> {new.get(k)!r}"
        for k in sorted(old.keys() | new.keys())
        if k not in RUNTIME_KEYS and old.get(k) != new.get(k)
    ]


def _dotlist(overrides: list[str]) -> list[str]:
    """["--a.b", "1", "--c=2"] -> ["a.b=1", "c=2"]."""
    dotlist, items = [], iter(overrides)
    for item in items:
        if not item.startswith("--"):
            raise ConfigError(f"unexpected argument {item!r}: config overrides look like --trainer.max_epochs 3")
        key, sep, value = item[2:].partition("=")
        if not sep:
            value = next(items, None)
            if value is None or value.startswith("--"):
                raise ConfigError(f"config key {key!r} was given no value: write --{key} VALUE")
        dotlist.append(f"{key}={value}")
    return dotlist


def _check_ranges(cfg: Config) -> None:
    """Numbers that would crash a fold later, or silently train nothing, refused with the range that works."""
    d, o, t, m, a = cfg.data, cfg.optim, cfg.trainer, cfg.mixup, cfg.averaging

    def share(value: float) -> bool:
        return 0 <= value < 1

    def limit(value: int | float | None) -> bool:  # Lightning's limit_*_batches: a count, or a share of them
        return value is None or (isinstance(value, int) and value >= 1) or (isinstance(value, float) and 0 < value <= 1)

    rules = [
        ("seed", cfg.seed, 0 <= cfg.seed < 2**32, "a whole number from 0 to 4294967295"),
        ("data.batch_size", d.batch_size, d.batch_size >= 1, "1 or more"),
        ("data.num_workers", d.num_workers, d.num_workers >= 0, "0 (load in the main process) or more"),
        ("data.image_size", d.image_size, d.image_size >= 1, "the side in pixels the images are resized to"),
        ("data.max_length", d.max_length, d.max_length >= 1, "the most tokens a text keeps, 1 or more"),
        (
            "trainer.max_epochs",
            t.max_epochs,
            t.max_epochs >= 1 or (t.max_epochs == -1 and t.max_steps > 0),
            "1 or more (-1 only with trainer.max_steps)",
        ),
        ("trainer.max_steps", t.max_steps, t.max_steps == -1 or t.max_steps >= 1, "-1 (use max_epochs) or 1 or more"),
        ("trainer.accumulate_grad_batches", t.accumulate_grad_batches, t.accumulate_grad_batches >= 1, "1 or more"),
        (
            "trainer.gradient_clip_val",
            t.gradient_clip_val,
            t.gradient_clip_val is None or t.gradient_clip_val > 0,
            "null (off) or above 0",
        ),
        (
            "trainer.limit_train_batches",
            t.limit_train_batches,
            limit(t.limit_train_batches),
            "null, a count of 1 or more, or a share in (0, 1]",
        ),
        (
            "trainer.limit_val_batches",
            t.limit_val_batches,
            limit(t.limit_val_batches),
            "null, a count of 1 or more, or a share in (0, 1]: validation picks each fold's checkpoint",
        ),
        ("trainer.log_every_n_steps", t.log_every_n_steps, t.log_every_n_steps >= 1, "1 or more"),
        ("optim.lr", o.lr, o.lr > 0, "a learning rate above 0"),
        ("optim.backbone_lr", o.backbone_lr, o.backbone_lr is None or o.backbone_lr > 0, "null (optim.lr) or above 0"),
        ("optim.weight_decay", o.weight_decay, o.weight_decay >= 0, "0 or more"),
        ("optim.momentum", o.momentum, share(o.momentum), "a value in [0, 1)"),
        ("optim.warmup_pct", o.warmup_pct, share(o.warmup_pct), "a share of the steps in [0, 1)"),
        ("optim.label_smoothing", o.label_smoothing, share(o.label_smoothing), "a value in [0, 1)"),
        ("optim.freeze_backbone_epochs", o.freeze_backbone_epochs, o.freeze_backbone_epochs >= 0, "0 (off) or more"),
        ("model.drop_rate", cfg.model.drop_rate, share(cfg.model.drop_rate), "a probability in [0, 1)"),
        ("model.drop_path_rate", cfg.model.drop_path_rate, share(cfg.model.drop_path_rate), "a probability in [0, 1)"),
        ("mixup.mixup_alpha", m.mixup_alpha, m.mixup_alpha >= 0, "0 (off) or more"),
        ("mixup.cutmix_alpha", m.cutmix_alpha, m.cutmix_alpha >= 0, "0 (off) or more"),
        ("mixup.prob", m.prob, 0 <= m.prob <= 1, "a probability in [0, 1]"),
        ("mixup.switch_prob", m.switch_prob, 0 <= m.switch_prob <= 1, "a probability in [0, 1]"),
        ("mixup.off_last_epochs", m.off_last_epochs, m.off_last_epochs >= 0, "0 or more"),
        ("averaging.swa_lr", a.swa_lr, a.swa_lr is None or a.swa_lr > 0, "null (keep the schedule) or above 0"),
        ("averaging.swa_anneal_epochs", a.swa_anneal_epochs, a.swa_anneal_epochs >= 1, "1 or more"),
        (
            "callbacks.early_stopping_patience",
            cfg.callbacks.early_stopping_patience,
            cfg.callbacks.early_stopping_patience is None or cfg.callbacks.early_stopping_patience >= 1,
            "null (off) or 1 or more",
        ),
    ]
    for key, value, fits, expected in rules:
        if not fits:
            raise ConfigError(f"config key {key!r}: {value!r} is out of range; use {expected}")


def _check_choices(cfg: Config) -> None:
    if not EXPERIMENT_NAME.fullmatch(cfg.experiment):
        raise ConfigError(
            f"config key 'experiment': {cfg.experiment!r} is not a name of letters, digits, '.', '_' and '-' "
            "(starting with a letter or digit, at most 100): it names a folder, a W&B group and a Kaggle dataset"
        )
    _check_ranges(cfg)
    choices = {
        "task": (cfg.task, TASKS),
        "problem": (cfg.problem, PROBLEMS),
        "metric": (cfg.metric, tuple(METRICS)),
        "cv.splitter": (cfg.cv.splitter, SPLITTERS),
        "submission": (cfg.submission, SUBMISSIONS),
        "optim.name": (cfg.optim.name, OPTIMIZERS),
        "optim.schedule": (cfg.optim.schedule, SCHEDULES),
        "mixup.mode": (cfg.mixup.mode, MIXUP_MODES),
        "model.in_chans": (cfg.model.in_chans, (1, 3)),
        "model.mode": (cfg.model.mode, TEXT_MODES),
        "data.padding": (cfg.data.padding, PADDINGS),
        "averaging.weights": (cfg.averaging.weights, WEIGHTS),
        "wandb.mode": (cfg.wandb.mode, WANDB_MODES),
        "trainer.precision": (cfg.trainer.precision, PRECISIONS),
        "trainer.gradient_clip_algorithm": (cfg.trainer.gradient_clip_algorithm, CLIP_ALGORITHMS),
        "trainer.profiler": (cfg.trainer.profiler, PROFILERS),
    }
    for key, (value, allowed) in choices.items():
        if value not in allowed:
            shown = ", ".join(str(a) for a in allowed if a is not None)
            raise ConfigError(f"config key {key!r}: {value!r} is not one of {shown}")
    if cfg.problem not in METRICS[cfg.metric].problems:
        fits = ", ".join(name for name, metric in METRICS.items() if cfg.problem in metric.problems)
        raise ConfigError(
            f"config key 'metric': {cfg.metric!r} does not score a {cfg.problem} problem; use one of {fits}"
        )
    if cfg.cv.splitter in ("group", "stratified_group") and not cfg.cv.group_col:
        raise ConfigError(f"config key 'cv.group_col': the {cfg.cv.splitter} splitter needs the column of groups")
    unknown = [view for view in cfg.tta.views if view not in VIEWS]
    if unknown or not cfg.tta.views:
        raise ConfigError(f"config key 'tta.views': {unknown or '[]'} is not a list of views from {', '.join(VIEWS)}")
    if cfg.mixup.enabled and cfg.data.batch_size % 2:
        raise ConfigError(f"config key 'data.batch_size': mixup mixes pairs, so {cfg.data.batch_size} must be even")
    if cfg.cv.n_folds < 2:
        raise ConfigError(f"config key 'cv.n_folds': {cfg.cv.n_folds} folds cannot cross-validate; use 2 or more")
    a = cfg.averaging
    if a.top_k < 1 or (a.weights == "top_k" and a.top_k < 2):
        raise ConfigError(f"config key 'averaging.top_k': {a.top_k} checkpoints; averaging needs 2 or more")
    if not 0 < a.ema_decay < 1:
        raise ConfigError(f"config key 'averaging.ema_decay': {a.ema_decay} is not between 0 and 1")
    if a.weights == "swa":
        if a.ema:
            raise ConfigError("config key 'averaging.ema': EMA and SWA both average the weights; pick one")
        if not 0 <= a.swa_start_epoch < cfg.trainer.max_epochs:
            raise ConfigError(
                f"config key 'averaging.swa_start_epoch': {a.swa_start_epoch} must be an epoch of the run "
                f"(0 to {cfg.trainer.max_epochs - 1})"
            )
        if a.swa_lr is not None and cfg.optim.schedule == "onecycle":
            raise ConfigError("config key 'averaging.swa_lr': OneCycle owns the learning rate; use cosine or linear")
    if a.ema_every_n_steps < 1 or a.ema_start_step < 0:
        raise ConfigError("config keys 'averaging.ema_every_n_steps' (>= 1) and 'averaging.ema_start_step' (>= 0)")
    unknown = [name for name in cfg.loggers if name not in LOGGERS]
    if unknown:
        shown = ", ".join(LOGGERS)
        raise ConfigError(f"config key 'loggers': {unknown} is not among {shown} (CSV and W&B are always on)")
    schedule = cfg.callbacks.accumulate_schedule
    if schedule:
        if cfg.trainer.accumulate_grad_batches != 1:
            raise ConfigError(
                "config keys 'callbacks.accumulate_schedule' and 'trainer.accumulate_grad_batches': set one of them"
            )
        if min(schedule) < 0 or min(schedule.values()) < 1:
            raise ConfigError(f"config key 'callbacks.accumulate_schedule': {schedule} needs epochs >= 0, batches >= 1")
    if cfg.optim.freeze_backbone_epochs and cfg.trainer.strategy == "ddp":
        raise ConfigError(
            "config key 'trainer.strategy': a frozen backbone leaves weights without gradients, which plain ddp "
            "refuses; use ddp_find_unused_parameters_true with optim.freeze_backbone_epochs"
        )
    if not 0 < cfg.optim.layer_decay <= 1:
        raise ConfigError(f"config key 'optim.layer_decay': {cfg.optim.layer_decay} is not in (0, 1]; 1 turns it off")
    if cfg.task == "nlp":
        _check_nlp(cfg)
    elif cfg.optim.layer_decay != 1:
        raise ConfigError("config key 'optim.layer_decay' is for nlp encoders; vision backbones use optim.backbone_lr")


def _check_nlp(cfg: Config) -> None:
    if not 1 <= len(cfg.data.text_cols) <= 2:
        raise ConfigError(f"config key 'data.text_cols': {cfg.data.text_cols} must name one text column, or two")
    if cfg.tta.views != ["identity"]:
        raise ConfigError("config key 'tta.views': test-time augmentation is for images; use [identity] for nlp")
    if cfg.mixup.cutmix_alpha > 0 or cfg.mixup.mode != "batch":
        raise ConfigError("config key 'mixup': nlp mixes pooled features, one lambda per batch: set cutmix_alpha 0")
    if cfg.model.mode == "text2text":
        if cfg.problem not in ("multiclass", "binary"):
            raise ConfigError(f"config key 'model.mode': text2text generates one label per row, not {cfg.problem}")
        if cfg.mixup.enabled:
            raise ConfigError("config key 'mixup': text2text has no pooled features to mix; set mixup_alpha 0")
        if cfg.optim.freeze_backbone_epochs:
            raise ConfigError("config key 'optim.freeze_backbone_epochs': text2text has no head to train alone")


def _read_yaml(path: Path) -> DictConfig:
    """The YAML file as a config, refused with the line of a syntax error, or when it is not a mapping."""
    try:
        loaded = OmegaConf.load(path)
    except yaml.YAMLError as error:
        mark = getattr(error, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        reason = getattr(error, "problem", None) or str(error).splitlines()[0]
        raise ConfigError(f"config file {path}: not valid YAML{where} ({reason})") from None
    except UnicodeDecodeError as error:
        raise ConfigError(f"config file {path}: not UTF-8 text (byte {error.start}); save it as UTF-8") from None
    if not isinstance(loaded, DictConfig):
        raise ConfigError(f"config file {path}: holds no 'key: value' mapping; start from configs/vision.yaml")
    return loaded


def _refuse_resolvers(node: Any, key: str = "") -> None:
    """Refuse ${resolver:argument} anywhere in the config (before it is resolved): values are data."""
    if isinstance(node, dict):
        for name, value in node.items():
            _refuse_resolvers(value, f"{key}.{name}" if key else str(name))
    elif isinstance(node, list):
        for index, value in enumerate(node):
            _refuse_resolvers(value, f"{key}[{index}]")
    elif isinstance(node, str):
        for match in RESOLVER.finditer(node):
            if (match[1], match[2].strip()) not in ALLOWED_RESOLVERS:
                raise ConfigError(
                    f"config key {key!r}: {match[0]!r} asks OmegaConf's resolver {match[1]!r}; config values are "
                    "data (an environment variable would be written into config.yaml, W&B and the bundle): "
                    "write the value itself, or ${other.key} to repeat another key"
                )


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        try:
            flags = OmegaConf.from_dotlist(_dotlist(overrides or []))
        except yaml.YAMLError as error:
            raise ConfigError(f"the config flags {' '.join(overrides or [])!r} do not parse: {error}") from None
        merged = OmegaConf.merge(OmegaConf.structured(Config), _read_yaml(path), flags)
        _refuse_resolvers(OmegaConf.to_container(merged, resolve=False))
        cfg = OmegaConf.to_object(merged)
    except OmegaConfBaseException as error:
        key = getattr(error, "full_key", None)
        # OmegaConf appends the key and object types on extra lines; keep its first line and name the key.
        reason = str(error).splitlines()[0]
        where = f"config key {key!r} in {path} or its overrides" if key else str(path)
        raise ConfigError(f"{where}: {reason}") from None
    _check_choices(cfg)
    return cfg


def save_config(cfg: Config, path: Path) -> None:
    write_text(OmegaConf.to_yaml(OmegaConf.structured(cfg)), path)


def parse_args(parser: argparse.ArgumentParser, argv: list[str] | None = None) -> tuple[argparse.Namespace, Config]:
    """The script's own flags and the config: --config FILE, then any config key as a dotted flag.

    The dotted flags are kept in `args.overrides`. A bad flag or config value raises ConfigError naming it.
    """
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the experiment's YAML file")
    args, args.overrides = parser.parse_known_args(argv)
    return args, load_config(args.config, args.overrides)
