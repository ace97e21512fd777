"""The networks, plain nn.Modules that load without Lightning: which one a config builds, and how a
batch becomes predictions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import torch
from torch import nn

from ..config import Config
from ..problem import Problem
from ..tta import tta_predict


def build_net(cfg: Config, problem: Problem) -> nn.Module:
    if cfg.task == "vision":
        from .vision import ImageModel

        return ImageModel(cfg.model, problem.num_outputs)
    from .text import Text2TextModel, TextModel

    if cfg.model.mode == "text2text":
        return Text2TextModel(cfg.model, problem.classes)
    return TextModel(cfg.model, problem.num_outputs)


def describe_net(cfg: Config, problem: Problem) -> dict[str, str]:
    """What a network is, as stored beside its weights in model.safetensors: enough to name both sides
    when weights meet a network they do not fit."""
    return {
        "model": cfg.model.name,
        "mode": cfg.model.mode if cfg.task == "nlp" else "",
        "outputs": str(problem.num_outputs),
    }


def predict_batch(net: nn.Module, batch: dict, problem: Problem, views: Sequence[str] = ("identity",)) -> torch.Tensor:
    """A batch's predictions, [rows, outputs]: probabilities, or values for regression."""
    if "image" in batch:
        return tta_predict(net, batch["image"], list(views), problem.activate)
    if hasattr(net, "generate_labels"):  # text2text: the generated label, as a one-hot row
        probs = net.predict(batch["input_ids"], batch["attention_mask"])
        return probs[:, 1:] if problem.kind == "binary" else probs  # binary: the second class's column
    return problem.activate(net(batch["input_ids"], batch["attention_mask"]))


@torch.inference_mode()
def predict_loader(
    net: nn.Module, loader: Iterable[dict], problem: Problem, views: Sequence[str], device
) -> np.ndarray:
    """Every batch's predictions, in the loader's order, from a plain loop: the OOF and the submission are
    predicted the same way, in float32, on one device."""
    net = net.eval().to(device)
    batches = ({key: value.to(device) for key, value in batch.items()} for batch in loader)
    return torch.cat([predict_batch(net, batch, problem, views).float().cpu() for batch in batches]).numpy()
