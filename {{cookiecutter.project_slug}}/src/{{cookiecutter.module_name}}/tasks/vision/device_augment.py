"""Training augmentation on the network's device (data.device_augment): random resized crops and flips of a
whole batch in one grid_sample, each image with its own crop and flip. The loader then only reads and resizes
(from the decoded-image cache, a memory copy), so the CPU stops being what the GPU waits on.

A crop keeps a random share of the image's area (data.device_crop_scale) at an aspect ratio from 3:4 to 4:3,
resized to data.image_size, as albumentations' RandomResizedCrop does; bilinear, like its default.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

RATIO = (3 / 4, 4 / 3)


def _uniform(n: int, low: float, high: float, device: torch.device) -> torch.Tensor:
    return torch.rand(n, device=device) * (high - low) + low


def augment(
    images: torch.Tensor, steps: list[str], size: int, scale: tuple[float, float] = (0.25, 1.0)
) -> torch.Tensor:
    """`images` (N x C x H x W floats) cropped (`crop`: to size x size) and flipped (`hflip`, `vflip`: half of
    them each), each image its own way."""
    n, _, height, width = images.shape
    device = images.device
    # The crop's width and height as shares of the image's: area share times the aspect ratio in pixels.
    if "crop" in steps:
        area = _uniform(n, *scale, device)
        aspect = torch.exp(_uniform(n, math.log(RATIO[0]), math.log(RATIO[1]), device)) * height / width
        # Within [area, 1/area] the crop fits in the image with its area exact (a non-square image's extremes).
        aspect = torch.minimum(torch.maximum(aspect, area), 1 / area)
        w, h = (area * aspect).sqrt().clamp(max=1.0), (area / aspect).sqrt().clamp(max=1.0)
        out = (size, size)
    else:
        w = h = torch.ones(n, device=device)
        out = (height, width)
    # Centres within the image, in grid_sample's coordinates (-1 to 1 across the image).
    x, y = (1 - w) * (2 * torch.rand(n, device=device) - 1), (1 - h) * (2 * torch.rand(n, device=device) - 1)
    flip_x = 1 - 2 * (torch.rand(n, device=device) < 0.5).float() if "hflip" in steps else torch.ones(n, device=device)
    flip_y = 1 - 2 * (torch.rand(n, device=device) < 0.5).float() if "vflip" in steps else torch.ones(n, device=device)
    zero = torch.zeros(n, device=device)
    theta = torch.stack([torch.stack([w * flip_x, zero, x], 1), torch.stack([zero, h * flip_y, y], 1)], 1)
    grid = F.affine_grid(theta.to(images.dtype), [n, images.shape[1], *out], align_corners=False)
    return F.grid_sample(images, grid, mode="bilinear", padding_mode="reflection", align_corners=False)
