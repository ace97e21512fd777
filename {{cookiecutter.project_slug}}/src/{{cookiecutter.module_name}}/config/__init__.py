"""The experiment config: typed dataclasses, one per section, filled from one YAML file and then from dotted flags.

    experiment.py  Config, the whole config, and the checks that span its sections
    data.py        data: the competition's files; cv: the split
    recipe.py      model, optim, mixup, tta, averaging: what is trained and how
    trainer.py     trainer (Lightning's arguments), callbacks, wandb
    load.py        load_config, save_config, parse_args: YAML and flags in, a checked Config out
    metrics.py     the metrics `metric` names, each with its direction and the problems it scores

Each section checks its own keys (`check()`, beside its fields); a bad one raises ConfigError naming it.
"""

from ..run.errors import ConfigError
from .data import CVConfig, DataConfig
from .experiment import TASK_MODULES, Config
from .load import (
    DEFAULT_CONFIG,
    RUNTIME_KEYS,
    changes_from_shipped,
    config_changes,
    load_config,
    parse_args,
    save_config,
    shipped_config,
)
from .recipe import AveragingConfig, MixupConfig, ModelConfig, OptimConfig, TTAConfig
from .trainer import CallbacksConfig, TrainerConfig, WandbConfig

__all__ = [
    "DEFAULT_CONFIG",
    "RUNTIME_KEYS",
    "TASK_MODULES",
    "AveragingConfig",
    "CVConfig",
    "CallbacksConfig",
    "Config",
    "ConfigError",
    "DataConfig",
    "MixupConfig",
    "ModelConfig",
    "OptimConfig",
    "TTAConfig",
    "TrainerConfig",
    "WandbConfig",
    "changes_from_shipped",
    "config_changes",
    "load_config",
    "parse_args",
    "save_config",
    "shipped_config",
]
