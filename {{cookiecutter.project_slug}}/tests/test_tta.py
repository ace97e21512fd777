import albumentations as A
import numpy as np
import pytest
import torch
from torch import nn

from {{ cookiecutter.module_name }}.tasks.vision.tta import VIEWS, tta_predict

IMAGES = torch.randn(2, 3, 6, 6)


def test_hflip_view_is_the_mirrored_image():
    image = np.random.default_rng(0).integers(0, 255, (6, 5, 3), dtype=np.uint8)
    flipped = A.HorizontalFlip(p=1.0)(image=image)["image"]
    tensor = torch.from_numpy(image).permute(2, 0, 1)[None]
    assert torch.equal(VIEWS["hflip"](tensor)[0].permute(1, 2, 0), torch.from_numpy(flipped))
    assert torch.equal(VIEWS["hflip"](tensor)[..., 0], tensor[..., -1])  # the first column was the last


def test_views_are_the_eight_distinct_symmetries_of_the_square():
    images = [VIEWS[view](IMAGES) for view in VIEWS]
    assert len(VIEWS) == 8
    assert all(not torch.equal(a, b) for i, a in enumerate(images) for b in images[i + 1 :])


class Counting(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net, self.calls = net, 0

    def forward(self, x):
        self.calls += 1
        return self.net(x)


def test_a_flip_invariant_model_predicts_the_same_with_and_without_tta():
    invariant = Counting(nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(3, 4)))
    plain = tta_predict(invariant, IMAGES, ["identity"], lambda o: o.softmax(1))
    with_tta = tta_predict(invariant, IMAGES, list(VIEWS), lambda o: o.softmax(1))
    assert torch.allclose(plain, with_tta, atol=1e-6)
    assert invariant.calls == 2  # the eight views went through the network in one batch


def test_tta_changes_the_prediction_of_a_model_that_is_not_invariant():
    torch.manual_seed(0)
    net = nn.Sequential(nn.Flatten(), nn.Linear(3 * 6 * 6, 4))
    plain = tta_predict(net, IMAGES, ["identity"], lambda o: o.softmax(1))
    with_tta = tta_predict(net, IMAGES, ["identity", "hflip"], lambda o: o.softmax(1))
    expected = (plain + net(IMAGES.flip(-1)).softmax(1)) / 2  # probabilities are averaged
    assert not torch.allclose(plain, with_tta) and torch.allclose(with_tta, expected, atol=1e-6)


def test_rotations_of_a_non_square_image_are_refused():
    with pytest.raises(ValueError, match=r"\['rot90'\] need square images, not 6x5"):
        tta_predict(nn.Identity(), torch.randn(1, 3, 6, 5), ["identity", "rot90"], lambda o: o)
