"""The task seam: what differs between images and texts, behind one interface.

`get_task(cfg)` returns the `Task` of tasks/vision/ or tasks/text/. Reading the competition, the fold runner,
prediction and the bundle call its methods and never ask which task they serve; its LightningModule is a
subclass of training/module.py's (`make_module`). A project baked for one task has only that task's folder; the
config refuses the other one. A new task is a folder here with a `TASK` of its own: tasks/vision/ is the
shortest example.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Sequence
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import numpy as np
import torch

from ..config import TASK_MODULES, Config
from ..data.loaders import make_loader

if TYPE_CHECKING:
    import pandas as pd
    from torch import nn
    from torch.utils.data import DataLoader, Dataset

    from ..data.problem import Problem
    from ..training.module import CompetitionModule

# The column that marks pseudo-labelled test rows among a fold's training rows (cv/pseudo.py), which come last.
PSEUDO = "__pseudo_label__"  # a name no competition table uses


class Task:
    """What a task provides. Each method's docstring is the contract."""

    input_keys: tuple[str, ...] = ()  # the batch keys its networks take, in their forward's order
    drops_last_batch = False  # training drops the last partial batch (BatchNorm and batch mixup need pairs)
    has_tta = False  # predictions can average test-time views (tta.views)
    has_padding = False  # inputs are padded per batch (data.padding), which bench.py measures
    cpu_steps = 90  # auto epochs on a CPU add up to about this many optimizer steps (cv/auto.py)
    # bench.py: the module of bench/ that measures the inputs at real sizes, and those sizes (JPEG sides, tokens)
    real_inputs = ""
    real_sizes: tuple[int, ...] = ()

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

    def net_metadata(self, cfg: Config, problem: Problem) -> dict[str, str]:
        """What a network is, as stored beside its weights in model.safetensors: enough to name both sides when
        weights meet a network they do not fit."""
        return {"model": cfg.model.name, "mode": self.describe(cfg), "outputs": str(problem.num_outputs)}

    def make_module(self, net: nn.Module, cfg: Config, problem: Problem) -> CompetitionModule:
        """The LightningModule that trains `net`: the task's subclass of training.module.CompetitionModule,
        imported here only (Lightning is not needed to predict)."""
        raise NotImplementedError

    def make_dataset(
        self, cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem, targets: np.ndarray | None = None
    ) -> Dataset:
        """The rows of train.csv (split "train" or "valid", targets from `problem`) or of test.csv ("test").
        `targets` replace the encoded ones: soft labels, where pseudo-labelled test rows (marked PSEUDO)
        follow the training rows."""
        raise NotImplementedError

    def loader_options(self, cfg: Config, dataset: Dataset, train: bool, batch_size: int) -> dict[str, Any]:
        """DataLoader arguments of its own: a sampler, worker seeding, collate_fn."""
        return {}

    def loader(self, cfg: Config, dataset: Dataset, train: bool = False, batch_size: int | None = None) -> DataLoader:
        """The DataLoader of one of its datasets: shuffled for training (and the last partial batch dropped where
        the task says so), in the rows' order otherwise."""
        batch_size = batch_size or cfg.data.batch_size
        options = self.loader_options(cfg, dataset, train, batch_size)
        return make_loader(cfg, dataset, train, batch_size, drop_last=self.drops_last_batch, **options)

    def predict_batch(self, net: nn.Module, batch: dict, problem: Problem, views=("identity",)) -> torch.Tensor:
        """A batch's predictions, [rows, outputs]: probabilities, or values for regression."""
        raise NotImplementedError

    @torch.inference_mode()
    def predict_loader(
        self, net: nn.Module, loader: Iterable[dict], problem: Problem, views: Sequence[str], device
    ) -> np.ndarray:
        """Every batch's predictions, in the loader's order, from a plain loop: the OOF and the submission are
        predicted the same way, in float32, on one device."""
        net = net.eval().to(device)
        batches = ({key: value.to(device) for key, value in batch.items()} for batch in loader)
        return torch.cat([self.predict_batch(net, batch, problem, views).float().cpu() for batch in batches]).numpy()

    def examples(self, cfg: Config, rows: pd.DataFrame) -> list:
        """Each training row's input as W&B shows it (the OOF's worst rows, in the cv run): an image or a text."""
        return [None] * len(rows)

    def auto_choices(self) -> list:
        """(dotted key, chooser) of the task's own `auto` keys, in order; a chooser takes the config and the
        competition and returns (value, why). cv/auto.py runs them before its own, and prints and saves each."""
        return []

    # The scikit-learn floor (ensemble/floor.py): its default model, its inputs, the steps before the estimator.
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

    def bundled_model(self, cfg: Config):
        """The model section as a Kaggle bundle uses it: no pretrained weights to look for."""
        return replace(cfg.model, pretrained=False, weights_file=None)

    def write_bundle_files(self, cfg: Config, bundled: Config, folder) -> None:
        """Files the bundle's prediction needs beside the weights (a tokenizer)."""


def get_task(cfg: Config) -> Task:
    """The task of `cfg` (the config has checked that its folder exists)."""
    return importlib.import_module(f"{__name__}.{TASK_MODULES[cfg.task]}").TASK
