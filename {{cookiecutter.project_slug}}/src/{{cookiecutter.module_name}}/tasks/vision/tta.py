"""Test-time augmentation: flips and rotations of the image batch, predicted in one pass and averaged.

The views are the eight symmetries of the square (D4) acting on NCHW tensors, by the names the config checks
tta.views against (config.recipe.TTA_VIEWS); a flip here equals albumentations' HorizontalFlip(p=1) on the image,
so no second data pipeline is needed.
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from ...run.errors import ConfigError

VIEWS: dict[str, Callable[[torch.Tensor], torch.Tensor]] = {
    "identity": lambda x: x,
    "hflip": lambda x: x.flip(-1),
    "vflip": lambda x: x.flip(-2),
    "rot90": lambda x: x.rot90(1, (-2, -1)),
    "rot180": lambda x: x.rot90(2, (-2, -1)),
    "rot270": lambda x: x.rot90(3, (-2, -1)),
    "transpose": lambda x: x.transpose(-2, -1),
    "transverse": lambda x: x.rot90(2, (-2, -1)).transpose(-2, -1),
}
SQUARE_ONLY = {"rot90", "rot270", "transpose", "transverse"}


def tta_predict(
    net: Callable[[torch.Tensor], torch.Tensor],
    images: torch.Tensor,
    views: list[str],
    activate: Callable[[torch.Tensor], torch.Tensor],
) -> torch.Tensor:
    """The mean over `views` of `activate(net(view(images)))`: probabilities, or values for regression."""
    if views == ["identity"]:
        return activate(net(images))
    if images.shape[-1] != images.shape[-2] and SQUARE_ONLY.intersection(views):
        raise ConfigError(
            f"config key 'tta.views': TTA views {sorted(SQUARE_ONLY.intersection(views))} need square images, "
            f"not {images.shape[-2]}x{images.shape[-1]}: set data.image_size or use flips only"
        )
    batch = torch.cat([VIEWS[view](images) for view in views])
    preds = activate(net(batch))
    return preds.view(len(views), len(images), *preds.shape[1:]).mean(dim=0)
