"""What a dataset is (DatasetInfo), what loading one gives (DatasetBundle), and how raw arrays
become a bundle: split with a fixed seed, normalise on train only, convert to tensors."""
from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import torch

from builder import ParamSpec
from trainers.datasets.errors import DatasetError
from trainers.datasets.splits import Standardizer, split_indices


@dataclass(frozen=True)
class DatasetInfo:
    name: str
    title: str
    task: str  # "classification" | "regression"; autoencoder/vae/gan reuse any set's inputs
    input_shape: tuple[int, ...]  # per sample, no batch dimension
    input_dtype: str  # "float" | "long" (token ids)
    num_classes: int | None
    target_shape: tuple[int, ...]  # () for class ids
    description: str  # one line, for students
    online_only: bool = False
    options: tuple[ParamSpec, ...] = ()  # adjustable settings (size, noise...), as layer params
    vocab_size: int | None = None  # token sets: ids run from 0 to vocab_size - 1


@dataclass
class DatasetBundle:
    """Tensors ready for training: x float32 (int64 token ids), y int64 classes or float32 targets."""
    info: DatasetInfo
    x_train: torch.Tensor
    y_train: torch.Tensor
    x_val: torch.Tensor
    y_val: torch.Tensor
    x_test: torch.Tensor
    y_test: torch.Tensor
    class_names: list[str] | None = None
    vocab: dict[int, str] | None = None  # token id -> word
    feature_names: list[str] | None = None
    # A standardised regression target: (mean, std) in the original units, to report real errors.
    target_scale: tuple[float, float] | None = None
    notes: tuple[str, ...] = ()  # what loading changed, in plain words (dropped columns, filled gaps)


@dataclass
class Samples:
    """Raw arrays a generator or parser produces, before splitting."""
    x: np.ndarray  # [N, *input_shape]
    y: np.ndarray  # [N] class ids, or [N, *target_shape] regression targets
    class_names: list[str] | None = None
    vocab: dict[int, str] | None = None
    feature_names: list[str] | None = None
    # The publisher's own test set (MNIST, CIFAR-10): kept as-is, validation comes out of train.
    fixed_test: tuple[np.ndarray, np.ndarray] | None = None
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class DatasetEntry:
    """A catalog row: the description plus the function that makes the samples."""
    info: DatasetInfo
    make: Callable[..., Samples]  # make(seed=..., **options) -> Samples


def build_bundle(info: DatasetInfo, samples: Samples, *, seed: int,
                 standardize_x: bool = False, standardize_y: bool = False) -> DatasetBundle:
    """Split (stratified for classes), optionally standardise with train statistics, convert to
    tensors, and record the real shapes and class count in the bundle's info."""
    classification = info.task == "classification"
    x, y = samples.x, samples.y
    if samples.fixed_test is None:
        parts = split_indices(y, seed=seed, stratify=classification)
        x_test, y_test = x[parts.test], y[parts.test]
    else:
        parts = split_indices(y, seed=seed, stratify=classification, test_fraction=0.0)
        x_test, y_test = samples.fixed_test
    if not (len(parts.train) and len(parts.val) and len(x_test)):
        raise DatasetError(f"{info.title} has too few examples ({len(y)}) to keep some back for "
                           "validation and testing: add more (a few of each class at least), or "
                           "use fewer classes.")
    x_train, x_val, y_train, y_val = x[parts.train], x[parts.val], y[parts.train], y[parts.val]
    if standardize_x:
        scaler = Standardizer.fit(x_train)
        x_train, x_val, x_test = scaler.apply(x_train), scaler.apply(x_val), scaler.apply(x_test)
    target_scale = None
    if standardize_y and not classification:
        scaler = Standardizer.fit(y_train)
        target_scale = (float(scaler.mean.squeeze()), float(scaler.std.squeeze()))
        y_train, y_val, y_test = scaler.apply(y_train), scaler.apply(y_val), scaler.apply(y_test)
    x_dtype = torch.int64 if info.input_dtype == "long" else torch.float32
    y_dtype = torch.int64 if classification else torch.float32
    info = replace(info, input_shape=tuple(x.shape[1:]), target_shape=tuple(y.shape[1:]),
                   num_classes=len(samples.class_names) if classification else None,
                   vocab_size=max(samples.vocab) + 1 if samples.vocab else None)

    def as_tensor(values: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(values)).to(dtype)

    return DatasetBundle(
        info=info,
        x_train=as_tensor(x_train, x_dtype), y_train=as_tensor(y_train, y_dtype),
        x_val=as_tensor(x_val, x_dtype), y_val=as_tensor(y_val, y_dtype),
        x_test=as_tensor(x_test, x_dtype), y_test=as_tensor(y_test, y_dtype),
        class_names=samples.class_names, vocab=samples.vocab,
        feature_names=samples.feature_names, target_scale=target_scale, notes=samples.notes)
