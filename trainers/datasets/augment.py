"""Random image augmentation per training batch: shift, mirror, noise. Pure torch on the batch's
own device (the dataset stays resident there), drawing from the caller's generator so a run with
a fixed seed is repeatable."""
from collections.abc import Mapping
from dataclasses import dataclass, fields

import torch
import torch.nn.functional as F

from trainers.datasets.bundle import DatasetInfo
from trainers.datasets.errors import DatasetError

# Mirroring keeps the label of these sets; a mirrored digit is no longer the same digit.
MIRROR_SAFE = frozenset({"shapes", "colour_shapes", "fashion_mnist", "cifar10"})


@dataclass(frozen=True)
class AugmentOptions:
    shift: int = 0  # move each image by up to this many pixels in each direction (zero fill)
    flip: bool = False  # mirror left-right, half of the images
    noise: float = 0.0  # standard deviation of Gaussian pixel noise

    def __post_init__(self):
        if isinstance(self.shift, bool) or not isinstance(self.shift, int) or self.shift < 0:
            raise DatasetError(f"augmentation shift must be a whole number of pixels >= 0, "
                               f"got {self.shift!r}", option="shift")
        if not isinstance(self.flip, bool):
            raise DatasetError(f"augmentation flip must be true or false, got {self.flip!r}",
                               option="flip")
        if isinstance(self.noise, bool) or not isinstance(self.noise, (int, float)) or self.noise < 0:
            raise DatasetError(f"augmentation noise must be a number >= 0, got {self.noise!r}",
                               option="noise")

    @classmethod
    def from_dict(cls, options: Mapping) -> "AugmentOptions":
        known = sorted(f.name for f in fields(cls))
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise DatasetError(f"unknown augmentation '{unknown[0]}' (known: {', '.join(known)})",
                               option=unknown[0])
        return cls(**options)


def default_augment(info: DatasetInfo) -> AugmentOptions | None:
    """Mild augmentation suited to an image set ([C, H, W] floats), None for anything else."""
    if len(info.input_shape) != 3 or info.input_dtype != "float":
        return None
    return AugmentOptions(shift=max(1, info.input_shape[-1] // 10), flip=info.name in MIRROR_SAFE,
                          noise=0.05)


def augment_batch(x: torch.Tensor, options: AugmentOptions | Mapping,
                  generator: torch.Generator) -> torch.Tensor:
    """A new batch [B, C, H, W] in [0, 1]; `x` is left untouched.
    `generator` must live on x's device (torch.Generator(device=x.device))."""
    if isinstance(options, Mapping):
        options = AugmentOptions.from_dict(options)
    if x.dim() != 4 or not x.is_floating_point():
        raise DatasetError(f"augmentation needs a float image batch [B, C, H, W], got "
                           f"{x.dtype} {list(x.shape)}")
    if options.shift > 0:
        x = _shift(x, options.shift, generator)
    if options.flip:
        mirrored = torch.rand(len(x), generator=generator, device=x.device) < 0.5
        x = torch.where(mirrored[:, None, None, None], x.flip(-1), x)
    if options.noise > 0:
        noise = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
        x = (x + options.noise * noise).clamp(0.0, 1.0)  # pixels stay in [0, 1]
    return x


def _shift(x: torch.Tensor, most: int, generator: torch.Generator) -> torch.Tensor:
    """Each image moved by its own random (dy, dx) in [-most, most], gaps filled with 0."""
    batch, channels, height, width = x.shape
    padded = F.pad(x, (most, most, most, most))  # [B, C, H + 2m, W + 2m]
    dy, dx = torch.randint(0, 2 * most + 1, (2, batch, 1), generator=generator, device=x.device)
    rows = dy + torch.arange(height, device=x.device)  # [B, H]: which padded row lands where
    cols = dx + torch.arange(width, device=x.device)  # [B, W]
    kept_rows = padded.gather(2, rows[:, None, :, None].expand(-1, channels, -1, width + 2 * most))
    return kept_rows.gather(3, cols[:, None, None, :].expand(-1, channels, height, -1))  # [B, C, H, W]
