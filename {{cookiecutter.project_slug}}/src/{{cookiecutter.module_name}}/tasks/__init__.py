"""The task seam: what differs between images and texts, behind one interface.

`get_task(cfg)` returns the `Task` of tasks/vision/ or tasks/text/. The fold runner, the LightningModule,
the loaders, prediction and the bundle call its methods and never ask which task they serve. A project
baked for one task has only that task's folder; the config refuses the other one.
"""

from __future__ import annotations

import importlib
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..config import TASK_MODULES, Config

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd
    import torch
    from timm.data import Mixup
    from torch import nn
    from torch.utils.data import Dataset

    from ..module import CompetitionModule
    from ..problem import Problem


class Task:
    """What a task provides. Each method's docstring is the contract; tasks/vision/ is the shortest example."""

    input_keys: tuple[str, ...] = ()  # the batch keys its networks take, in their forward's order
    drops_last_batch = False  # training drops the last partial batch (BatchNorm and batch mixup need pairs)
    has_tta = False  # predictions can average test-time views (tta.views)
    has_padding = False  # inputs are padded per batch (data.padding), which bench.py measures
    cpu_steps = 90  # auto epochs on a CPU add up to about this many optimizer steps (auto.py; GPUs: GPU_STEPS)
    real_sizes: tuple[int, ...] = ()  # what bench.py measures the inputs at by default: JPEG sides, text tokens

    def check_can_run(self, cfg: Config) -> None:
        """Refuse, before anything is written, a model these libraries cannot build."""

    def input_columns(self, cfg: Config) -> list[str]:
        """The columns of train.csv and test.csv its inputs are read from, beside the id."""
        return []

    def bad_inputs(self, cfg: Config, rows: pd.DataFrame, split: str, decode: bool) -> pd.Series:
        """Why each row whose input cannot be read is bad, indexed like `rows` (only the bad rows)."""
        raise NotImplementedError

    def build_net(self, cfg: Config, problem: Problem) -> nn.Module:
        """A fresh network: a plain nn.Module that predicts without Lightning."""
        raise NotImplementedError

    def describe(self, cfg: Config) -> str:
        """What kind of network `build_net` makes, stored beside its weights."""
        return ""

    def make_module(self, net: nn.Module, cfg: Config, problem: Problem) -> CompetitionModule:
        from ..module import CompetitionModule

        return CompetitionModule(net, cfg, problem, self)

    def make_dataset(
        self, cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem, targets: np.ndarray | None = None
    ) -> Dataset:
        """The rows of train.csv (split "train" or "valid", targets from `problem`) or of test.csv ("test").
        `targets` replace the encoded ones: soft labels, where pseudo-labelled test rows (pseudo.PSEUDO)
        follow the training rows."""
        raise NotImplementedError

    def loader_options(self, cfg: Config, dataset: Dataset, train: bool, batch_size: int) -> dict[str, Any]:
        """DataLoader arguments of its own: a sampler, worker seeding, collate_fn."""
        return {}

    def reseed(self, dataset: Dataset, seed: int) -> None:
        """Seed the random generators of a training dataset that global seeding does not reach, at each
        epoch's start, so a resumed fold augments as an uninterrupted one."""

    def augment_on_device(self, net: nn.Module, cfg: Config, batch: dict) -> dict:
        """A training batch on the network's device, augmented there (data.device_augment). Mixing is `mix`."""
        return batch

    def mix(self, net: nn.Module, mixup: Mixup, cfg: Config, batch: dict) -> tuple[torch.Tensor, torch.Tensor]:
        """The outputs of a mixed training batch and its soft targets."""
        raise NotImplementedError

    def predict_batch(self, net: nn.Module, batch: dict, problem: Problem, views=("identity",)) -> torch.Tensor:
        """A batch's predictions, [rows, outputs]: probabilities, or values for regression."""
        raise NotImplementedError

    def examples(self, cfg: Config, rows: pd.DataFrame) -> list:
        """Each training row's input as W&B shows it (the OOF's worst rows, in the cv run): an image or a text."""
        return [None] * len(rows)

    def auto_choices(self) -> list:
        """(dotted key, chooser) of the task's own `auto` keys, in order; a chooser takes the config and the
        competition and returns (value, why). auto.py runs them before its own, and prints and saves each."""
        return []

    # The scikit-learn floor (floor.py): its default model, its inputs, the steps before the estimator.
    floor_model = "linear"  # boosting is the stronger floor on pixels, and takes minutes rather than seconds

    def floor_inputs(self, cfg: Config, rows: pd.DataFrame, split: str) -> Any:
        """The rows' inputs for a scikit-learn pipeline: an array [rows, features] or a list of texts."""
        raise NotImplementedError

    def floor_steps(self, cfg: Config, model: str) -> list:
        """scikit-learn transformers between `floor_inputs` and the estimator, fitted on each fold's rows."""
        return []

    def floor_description(self, cfg: Config, model: str) -> str:
        """The floor's features in a few words, for cv.json and report.py."""
        return ""

    def bench_real_sizes(self, cfg: Config, sizes: tuple[int, ...]) -> dict:
        """bench.py: the inputs at real `sizes` (tasks/<task>/bench.py), a report for `print_real_sizes`."""
        return {}

    def print_real_sizes(self, report: dict) -> None:
        """Print what `bench_real_sizes` measured."""

    def bundled_model(self, cfg: Config):
        """The model section as a Kaggle bundle uses it: no pretrained weights to look for."""
        return replace(cfg.model, pretrained=False, weights_file=None)

    def write_bundle_files(self, cfg: Config, bundled: Config, folder) -> None:
        """Files the bundle's prediction needs beside the weights (a tokenizer)."""


def get_task(cfg: Config) -> Task:
    """The task of `cfg` (the config has checked that its folder exists)."""
    return importlib.import_module(f"{__name__}.{TASK_MODULES[cfg.task]}").TASK
