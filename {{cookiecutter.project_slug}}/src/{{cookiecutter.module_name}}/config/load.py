"""Reading the config: one YAML file, then dotted flags, into a checked `Config`.

`load_config("configs/vision.yaml", ["--trainer.max_epochs", "3"])` returns a `Config`. An unknown key,
a wrong type or a value outside its choices raises `ConfigError` naming the key, before any work starts.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path
from typing import Any

import yaml
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ..run.errors import ConfigError
from ..run.io import write_text
from ..run.paths import not_a
from .experiment import Config

PROJECT = Path(__file__).resolve().parents[3]  # holds train.py, configs/ and src/
DEFAULT_CONFIG = "configs/{{ 'nlp' if cookiecutter.task == 'nlp' else 'vision' }}.yaml"  # the task chosen when baking
# ${name:argument}: an OmegaConf resolver. Plain ${key} interpolation stays; a resolver could pull a secret
# from the environment into config.yaml, the checkpoints, W&B and the Kaggle bundle. The W&B agent's run id
# (configs/sweep.yaml names each trial's experiment with it) is the one exception.
RESOLVER = re.compile(r"\$\{\s*([\w.]+)\s*:([^}]*)\}?")
ALLOWED_RESOLVERS = {("oc.env", "WANDB_RUN_ID")}


# Keys that change how a run looks or runs, not what it learns: they may differ between folds.
RUNTIME_KEYS = {
    "output_dir",
    "predict_with",
    # Each seed's run is compared on its own config (seeds.seed_config); adding a seed changes no other's run.
    "seeds",
    "data.num_workers",
    "data.cache_dir",
    "loggers",
    "callbacks.lr_monitor",
    *(f"trainer.{key}" for key in ("accelerator", "devices", "num_nodes", "strategy", "profiler")),
    "trainer.enable_progress_bar",
    "trainer.enable_model_summary",
}


def shipped_config(cfg: Config) -> str:
    """The task's own config as the project ships it, relative to the project: configs/<task>.yaml."""
    return f"configs/{cfg.task}.yaml"


def changes_from_shipped(cfg: Config) -> list[str] | None:
    """'key: default -> value' for each key that differs from the task's shipped config (the auto values
    show what they were chosen as); None when that file is gone or does not read."""
    try:
        return config_changes(cfg, PROJECT / shipped_config(cfg))
    except (OSError, ConfigError):
        return None


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
    if (problem := not_a(path, "file")) is not None:
        raise ConfigError(f"config file {problem}")
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
    cfg.check()
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
