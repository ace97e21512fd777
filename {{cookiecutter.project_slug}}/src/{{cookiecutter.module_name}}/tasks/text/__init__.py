"""The text task: a Hugging Face encoder with mean pooling and a head, or T5 writing the label; texts
tokenized once, batches padded to their longest text and grouped by length; mixup of pooled features
(tasks/text/module.py)."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import torch
from torch import nn
from torch.utils.data import Dataset

from ...config import Config
from ...data.problem import Problem
from .. import Task
from .data import TextDataset
from .models import (
    INPUT_KEYS,
    Text2TextModel,
    TextModel,
    check_precision,
    load_tokenizer,
    model_config,
    text2text_probs,
)


class TextTask(Task):
    input_keys = INPUT_KEYS
    has_padding = True
    real_inputs, real_sizes = "essays", (512,)  # tokens per text

    def check_can_run(self, cfg: Config) -> None:
        check_precision(cfg)  # it says why T5 must not use float16, on any hardware

    def input_columns(self, cfg: Config) -> list[str]:
        return list(cfg.data.text_cols)

    def bad_inputs(self, cfg: Config, rows: pd.DataFrame, split: str, decode: bool) -> pd.Series:
        reasons = pd.Series("", index=rows.index)
        for col in cfg.data.text_cols:
            empty = rows[col].isna() | (rows[col].astype(str).str.strip() == "")
            reasons[empty & (reasons == "")] = f"empty text in column {col!r}"
        return reasons[reasons != ""]

    def build_net(self, cfg: Config, problem: Problem) -> nn.Module:
        if cfg.model.mode == "text2text":
            return Text2TextModel(cfg.model, problem.classes)
        return TextModel(cfg.model, problem.num_outputs)

    def describe(self, cfg: Config) -> str:
        return cfg.model.mode

    def make_module(self, net: nn.Module, cfg: Config, problem: Problem):
        from .module import Text2TextModule, TextModule

        return (Text2TextModule if cfg.model.mode == "text2text" else TextModule)(net, cfg, problem)

    def make_dataset(
        self, cfg: Config, net: nn.Module, rows: pd.DataFrame, split: str, problem, targets: np.ndarray | None = None
    ) -> Dataset:
        d, labels = cfg.data, None
        targets = problem.encode(rows) if problem and targets is None else targets
        if problem and cfg.model.mode == "text2text":  # the label as text is what T5 learns to write
            labels = net.tokenizer(text_target=rows[problem.target_cols[0]].astype(str).tolist())["input_ids"]
        return TextDataset(rows, d.text_cols, net.tokenizer, d.max_length, targets, labels, d.padding == "max_length")

    def loader_options(self, cfg: Config, dataset: Dataset, train: bool, batch_size: int) -> dict[str, Any]:
        options: dict[str, Any] = {"collate_fn": dataset.collate}  # pads each batch to its longest text
        if train and cfg.data.group_by_length:
            from transformers.trainer_pt_utils import LengthGroupedSampler

            # Shuffled, then sorted by length within chunks of 50 batches: little padding, still random batches.
            # It shuffles with the global generator, which each epoch reseeds (training/callbacks.py: Guards).
            options["sampler"] = LengthGroupedSampler(batch_size, lengths=dataset.lengths)
        return options

    def auto_choices(self) -> list:
        return [("optim.backbone_lr", encoder_lr), ("optim.layer_decay", layer_decay)]

    def examples(self, cfg: Config, rows: pd.DataFrame) -> list:
        return [text[:2000] for text in self.floor_inputs(cfg, rows, "train")]  # the texts, as the floor reads them

    def floor_inputs(self, cfg: Config, rows: pd.DataFrame, split: str) -> Any:
        return rows[cfg.data.text_cols].fillna("").astype(str).agg("\n".join, axis=1).tolist()

    def floor_steps(self, cfg: Config, model: str) -> list:
        from sklearn.decomposition import TruncatedSVD
        from sklearn.feature_extraction.text import TfidfVectorizer

        # Words and word pairs, counts damped by their log; fitted on each fold's training rows. Trees take
        # dense features: the TF-IDF's 256 main directions.
        tfidf = TfidfVectorizer(ngram_range=(1, 2), min_df=2, sublinear_tf=True, max_features=200_000)
        return [tfidf] if model == "linear" else [tfidf, TruncatedSVD(256, random_state=cfg.seed)]

    def floor_description(self, cfg: Config, model: str) -> str:
        return "TF-IDF of words and word pairs" + ("" if model == "linear" else ", 256 SVD components")

    def predict_batch(self, net: nn.Module, batch: dict, problem: Problem, views=("identity",)) -> torch.Tensor:
        if isinstance(net, Text2TextModel):  # the generated label, as a one-hot row
            return text2text_probs(net, batch, problem)
        return problem.activate(net(batch["input_ids"], batch["attention_mask"]))

    def bundled_model(self, cfg: Config):
        # The tokenizer and config.json travel in the bundle's models/<name>/.
        return replace(super().bundled_model(cfg), name=f"models/{Path(cfg.model.name).name}", tokenizer=None)

    def write_bundle_files(self, cfg: Config, bundled: Config, folder: Path) -> None:
        # From the local folder, or the hub's cache filled when training.
        load_tokenizer(cfg.model).save_pretrained(folder / bundled.model.name)
        model_config(cfg.model).save_pretrained(folder / bundled.model.name)


def encoder_lr(cfg: Config, competition) -> tuple[float | None, str]:
    if cfg.model.pretrained:
        return 3e-5, "a pretrained encoder: the usual fine-tuning rate, the head at optim.lr"
    return None, "the encoder learns from scratch, at the head's optim.lr"


def layer_decay(cfg: Config, competition) -> tuple[float, str]:
    if cfg.model.pretrained:
        return 0.9, "a pretrained encoder: each layer down from the top learns 0.9 times as fast"
    return 1.0, "off: the encoder learns from scratch"


TASK = TextTask()
