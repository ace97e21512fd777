"""The experiment config: typed dataclasses, filled from one YAML file and then from dotted flags.

`load_config("configs/vision.yaml", ["--trainer.max_epochs", "3"])` returns a `Config`. An unknown key,
a wrong type or a value outside its choices raises `ConfigError` naming the key, before any work starts.
"""

from __future__ import annotations

import argparse
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from omegaconf import MISSING, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from .atomic import write_text
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


class ConfigError(ValueError):
    """A config value that cannot work; the message names the key."""


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
    # Train the head alone for this many epochs, then unfreeze the backbone (Lightning's BackboneFinetuning).
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
    precision: str = "32-true"  # 32-true, 16-mixed (CUDA GPUs), bf16-mixed (recent GPUs and CPUs)
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


def _check_choices(cfg: Config) -> None:
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


def load_config(path: str | Path, overrides: list[str] | None = None) -> Config:
    path = Path(path)
    if not path.is_file():
        raise ConfigError(f"config file {str(path)!r} does not exist")
    try:
        merged = OmegaConf.merge(
            OmegaConf.structured(Config), OmegaConf.load(path), OmegaConf.from_dotlist(_dotlist(overrides or []))
        )
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

    The dotted flags are kept in `args.overrides`. A bad flag or config value ends the script with exit
    code 2 and a message naming it.
    """
    parser.add_argument("--config", default=DEFAULT_CONFIG, help="the experiment's YAML file")
    args, args.overrides = parser.parse_known_args(argv)
    try:
        return args, load_config(args.config, args.overrides)
    except ConfigError as error:
        parser.exit(2, f"error: {error}\n")
