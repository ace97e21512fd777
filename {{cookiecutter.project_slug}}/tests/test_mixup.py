from dataclasses import replace

import numpy as np
import pytest
import torch
from conftest import TINY, make_cfg
from torch import nn

from {{ cookiecutter.module_name }}.cv.loop import train
from {{ cookiecutter.module_name }}.data.problem import Problem
from {{ cookiecutter.module_name }}.tasks import get_task
from {{ cookiecutter.module_name }}.training.loss import make_loss, make_mixup

DIGITS = Problem("multiclass", ("label",), tuple(range(10)))


def mixup_cfg(cfg, **mixup):
    return replace(cfg, mixup=replace(cfg.mixup, **mixup))


def lam_of(images, mixed):
    """The mixup weight of image 0, read off the pixels: row 0 is mixed with row 7 (the batch reversed)."""
    return (mixed[0, 0, 0, 0] - images[7, 0, 0, 0]) / (images[0, 0, 0, 0] - images[7, 0, 0, 0])


def mixed_batch(cfg, problem=DIGITS, targets=None):
    np.random.seed(0)  # timm draws lambda from numpy: a lambda near 0 or 1 would leave too little to compare
    images = torch.arange(8.0)[:, None, None, None].expand(8, 3, 4, 4).clone() + 1  # image i is all i+1
    targets = torch.tensor([0, 1, 2, 3, 4, 5, 6, 7]) if targets is None else targets
    mixed, soft = make_mixup(cfg, problem)(images.clone(), targets)
    return images, mixed, soft


def test_mixup_targets_are_convex_combinations_matching_the_images_lambda(cfg):
    images, mixed, soft = mixed_batch(mixup_cfg(cfg, mixup_alpha=0.4))
    lam = lam_of(images, mixed)
    assert torch.allclose(soft.sum(1), torch.ones(8))
    assert (soft >= 0).all() and 0 <= lam <= 1
    assert torch.isclose(soft[0, 0], lam) and torch.isclose(soft[0, 7], 1 - lam)


def test_cutmix_lambda_is_the_share_of_pixels_kept(cfg):
    images, mixed, soft = mixed_batch(mixup_cfg(cfg, cutmix_alpha=1.0))
    kept = (mixed[0] == images[0]).float().mean()
    assert torch.isclose(soft[0, 0], kept) and torch.isclose(soft[0, 7], 1 - kept)


def test_label_smoothing_with_mixup_gives_the_expected_targets(cfg):
    cfg = replace(mixup_cfg(cfg, mixup_alpha=0.4, prob=0.0), optim=replace(cfg.optim, label_smoothing=0.1))
    _, _, soft = mixed_batch(cfg)  # prob 0: nothing mixed, only smoothed
    assert torch.allclose(soft[0], torch.tensor([1 - 0.1 + 0.01] + [0.01] * 9))


def test_label_smoothing_without_mixup_is_cross_entropy_on_those_targets():
    loss = make_loss(DIGITS, label_smoothing=0.1)
    logits, target = torch.randn(4, 10), torch.tensor([0, 3, 9, 3])
    soft = torch.full((4, 10), 0.01).scatter(1, target[:, None], 0.91)
    assert torch.isclose(loss(logits, target), -(soft * logits.log_softmax(1)).sum(1).mean())


def test_multilabel_and_regression_targets_mix_densely(cfg):
    multilabel = Problem("multilabel", ("a", "b"))
    targets = torch.tensor([[1.0, 0.0]] * 4 + [[0.0, 1.0]] * 4)
    images, mixed, soft = mixed_batch(mixup_cfg(cfg, mixup_alpha=0.4), multilabel, targets)
    lam = lam_of(images, mixed)
    assert torch.allclose(soft[0], torch.stack([lam, 1 - lam]))
    values = torch.arange(8.0)[:, None]
    images, mixed, mixed_values = mixed_batch(mixup_cfg(cfg, mixup_alpha=0.4), Problem("regression", ("v",)), values)
    assert torch.isclose(mixed_values[0, 0], 7 * (1 - lam_of(images, mixed)))  # lam * 0 + (1 - lam) * 7


@pytest.mark.parametrize(("epoch", "mixing"), [(0, True), (2, True), (3, False), (4, False)])
def test_mixup_is_off_for_the_last_epochs(cfg, epoch, mixing):
    cfg = mixup_cfg(cfg, mixup_alpha=0.2, off_last_epochs=2)
    module = get_task(cfg).make_module(nn.Identity(), cfg, DIGITS)
    assert module.mixes_in(epoch, max_epochs=5) is mixing


def test_a_fold_trains_with_mixup_then_clean_last_epoch(digits_dir, tmp_path):
    base = make_cfg(digits_dir, tmp_path, n_folds=3, **{**TINY, "max_epochs": 2})
    cfg = replace(
        mixup_cfg(base, mixup_alpha=0.2, cutmix_alpha=1.0, off_last_epochs=1),
        optim=replace(base.optim, label_smoothing=0.1),
    )
    assert np.isfinite(train(cfg, folds=[0])["folds"][0])
