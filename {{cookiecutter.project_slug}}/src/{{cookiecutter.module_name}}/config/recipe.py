"""The config's training recipe: the model, the optimizer and schedule, mixup, TTA and weight averaging."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from omegaconf import MISSING

from ..run.errors import ConfigError
from .rules import AUTO, auto_or_number, in_range, one_of, share

OPTIMIZERS = ("adamw", "sgd")
SCHEDULES = ("cosine", "cycles", "linear", "onecycle", "constant")
TEXT_MODES = ("encoder", "text2text")
WEIGHTS = ("best", "top_k", "swa")
MIXUP_MODES = ("batch", "pair", "elem")
# The eight symmetries of the square (D4) that tta.views may name; tasks/vision/tta.py applies them.
TTA_VIEWS = ("identity", "hflip", "vflip", "rot90", "rot180", "rot270", "transpose", "transverse")


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
    # A ResNet's stem without its max-pool, for small images: the first stage sees twice the side. auto: below
    # 32 px, where the usual 4x stem would leave the first stage less than 8 px.
    small_input: Any = False
    # nlp
    mode: str = "encoder"  # encoder: any encoder + mean pooling + head; text2text: T5 generates the label
    tokenizer: str | None = None  # a name or folder; null: the model's own
    gradient_checkpointing: bool = False  # less memory for longer texts, about a third slower

    def check(self) -> None:
        in_range("model.drop_rate", self.drop_rate, share(self.drop_rate), "a probability in [0, 1)")
        in_range("model.drop_path_rate", self.drop_path_rate, share(self.drop_path_rate), "a probability in [0, 1)")
        one_of("model.in_chans", self.in_chans, (1, 3))
        one_of("model.small_input", self.small_input, (AUTO, True, False))
        one_of("model.mode", self.mode, TEXT_MODES)


@dataclass
class OptimConfig:
    name: str = "adamw"  # adamw or sgd
    lr: Any = 1e-3  # the head's learning rate, and the backbone's unless backbone_lr is set; auto: the LR finder's
    backbone_lr: Any = None  # nlp auto: 3e-5 for a pretrained encoder, else the head's rate
    weight_decay: float = 0.01
    momentum: float = 0.9  # sgd only
    # cosine or linear (linear warmup, then cosine or linear decay to 0); cycles: cosine cycles of 5, 10, 20...
    # epochs, the last one to the end, and a fold stops after a cycle that did not improve; onecycle; constant
    schedule: str = "cosine"
    warmup_pct: float = 0.1  # share of all steps (of the first cycle's, with cycles) spent warming up
    # nlp: layer-wise learning-rate decay; each encoder layer down from the top gets this factor more.
    layer_decay: Any = 1.0  # auto: 0.9 for a pretrained encoder, else 1 (off)
    label_smoothing: float = 0.0
    # Train the head alone for this many epochs (the backbone frozen, in the optimizer at backbone_lr), then all.
    freeze_backbone_epochs: int = 0

    def check(self) -> None:
        one_of("optim.name", self.name, OPTIMIZERS)
        one_of("optim.schedule", self.schedule, SCHEDULES)
        self.lr = lr = auto_or_number("optim.lr", self.lr)
        in_range("optim.lr", lr, lr == AUTO or lr > 0, "auto (the LR finder), or a learning rate above 0")
        self.backbone_lr = backbone_lr = auto_or_number("optim.backbone_lr", self.backbone_lr, nullable=True)
        fits = backbone_lr in (None, AUTO) or backbone_lr > 0
        in_range("optim.backbone_lr", backbone_lr, fits, "null (optim.lr), auto, or above 0")
        in_range("optim.weight_decay", self.weight_decay, self.weight_decay >= 0, "0 or more")
        in_range("optim.momentum", self.momentum, share(self.momentum), "a value in [0, 1)")
        in_range("optim.warmup_pct", self.warmup_pct, share(self.warmup_pct), "a share of the steps in [0, 1)")
        in_range("optim.label_smoothing", self.label_smoothing, share(self.label_smoothing), "a value in [0, 1)")
        freeze = self.freeze_backbone_epochs
        in_range("optim.freeze_backbone_epochs", freeze, freeze >= 0, "0 (off) or more")
        self.layer_decay = auto_or_number("optim.layer_decay", self.layer_decay)
        if self.layer_decay != AUTO and not 0 < self.layer_decay <= 1:
            raise ConfigError(f"config key 'optim.layer_decay': {self.layer_decay} is not in (0, 1]; 1 turns it off")


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

    def check(self) -> None:
        in_range("mixup.mixup_alpha", self.mixup_alpha, self.mixup_alpha >= 0, "0 (off) or more")
        in_range("mixup.cutmix_alpha", self.cutmix_alpha, self.cutmix_alpha >= 0, "0 (off) or more")
        in_range("mixup.prob", self.prob, 0 <= self.prob <= 1, "a probability in [0, 1]")
        in_range("mixup.switch_prob", self.switch_prob, 0 <= self.switch_prob <= 1, "a probability in [0, 1]")
        in_range("mixup.off_last_epochs", self.off_last_epochs, self.off_last_epochs >= 0, "0 or more")
        one_of("mixup.mode", self.mode, MIXUP_MODES)


@dataclass
class TTAConfig:
    """Test-time augmentation: views of each image predicted in one batch and averaged."""

    # any of TTA_VIEWS: identity, hflip, vflip, rot90, rot180, rot270, transpose, transverse
    views: list[str] = field(default_factory=lambda: ["identity"])

    @property
    def on(self) -> bool:
        return self.views != ["identity"]

    def check(self) -> None:
        unknown = [view for view in self.views if view not in TTA_VIEWS]
        if unknown or not self.views:
            raise ConfigError(
                f"config key 'tta.views': {unknown or '[]'} is not a list of views from {', '.join(TTA_VIEWS)}"
            )


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

    def check(self) -> None:
        one_of("averaging.weights", self.weights, WEIGHTS)
        if self.top_k < 1 or (self.weights == "top_k" and self.top_k < 2):
            raise ConfigError(f"config key 'averaging.top_k': {self.top_k} checkpoints; averaging needs 2 or more")
        if not 0 < self.ema_decay < 1:
            raise ConfigError(f"config key 'averaging.ema_decay': {self.ema_decay} is not between 0 and 1")
        if self.weights == "swa" and self.ema:
            raise ConfigError("config key 'averaging.ema': EMA and SWA both average the weights; pick one")
        if self.ema_every_n_steps < 1 or self.ema_start_step < 0:
            raise ConfigError("config keys 'averaging.ema_every_n_steps' (>= 1) and 'averaging.ema_start_step' (>= 0)")
        swa_lr = self.swa_lr
        in_range("averaging.swa_lr", swa_lr, swa_lr is None or swa_lr > 0, "null (keep the schedule) or above 0")
        in_range("averaging.swa_anneal_epochs", self.swa_anneal_epochs, self.swa_anneal_epochs >= 1, "1 or more")
