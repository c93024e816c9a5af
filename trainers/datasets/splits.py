"""Train/validation/test splits with a fixed seed, and normalisation fitted on train only."""
from dataclasses import dataclass

import numpy as np

VAL_FRACTION = 0.15
TEST_FRACTION = 0.15


@dataclass(frozen=True)
class SplitIndices:
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray


def split_indices(y: np.ndarray, *, seed: int, stratify: bool,
                  val_fraction: float = VAL_FRACTION,
                  test_fraction: float = TEST_FRACTION) -> SplitIndices:
    """Row indices for train/val/test; the same seed always gives the same split.

    With `stratify`, every class keeps its share in each part (a class with a single sample stays
    in train, so every class the model is tested on was seen in training).
    """
    rng = np.random.default_rng([seed, 7])  # its own stream: splitting never shifts generation
    groups = [np.flatnonzero(y == label) for label in np.unique(y)] if stratify else [np.arange(len(y))]
    parts: tuple[list, list, list] = ([], [], [])
    for members in groups:
        members = rng.permutation(members)
        n_test = int(round(len(members) * test_fraction)) if len(members) > 1 else 0
        n_val = int(round(len(members) * val_fraction)) if len(members) > 1 else 0
        parts[2].append(members[:n_test])
        parts[1].append(members[n_test:n_test + n_val])
        parts[0].append(members[n_test + n_val:])
    # Shuffle across classes so a batch taken in order is not one class.
    train, val, test = (rng.permutation(np.concatenate(p)).astype(np.int64) for p in parts)
    return SplitIndices(train, val, test)


@dataclass(frozen=True)
class Standardizer:
    """Per-column mean and spread measured on the training rows only (no test leakage)."""
    mean: np.ndarray
    std: np.ndarray

    @classmethod
    def fit(cls, train: np.ndarray) -> "Standardizer":
        """Missing values (NaN) are ignored; a column with none in train gets mean 0, std 1."""
        observed = ~np.isnan(train)
        count = np.maximum(observed.sum(axis=0), 1)
        mean = np.where(observed, train, 0.0).sum(axis=0) / count
        spread = np.sqrt(np.where(observed, (train - mean) ** 2, 0.0).sum(axis=0) / count)
        # A constant column would divide by zero; leave it centred at 0 instead.
        return cls(mean, np.where(spread > 1e-12, spread, 1.0))

    def apply(self, values: np.ndarray) -> np.ndarray:
        """Standardised values; a missing value becomes 0, the training mean (mean imputation
        with train statistics only)."""
        return np.nan_to_num((values - self.mean) / self.std, nan=0.0).astype(np.float32)
