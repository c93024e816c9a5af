"""How many rows a run trains on per epoch, for the sample-epochs limit: counted, not guessed.

Every dataset counts: generated sets by their `n_samples`, downloads by `n_train` (nothing is
downloaded to find out), fixed sets such as digits by loading them once, and a saved CSV upload
by its data lines.
"""
import functools
from pathlib import Path

from trainers.datasets.catalog import CSV_DATASET, _entry, resolve_options
from trainers.datasets.errors import DatasetError
from trainers.datasets.splits import TEST_FRACTION, VAL_FRACTION


def training_rows(name: str, options: dict) -> int:
    """Rows in the training split of `name` with these options; DatasetError when unknown."""
    if name == CSV_DATASET:
        rows = csv_data_rows(options.get("path"))
        return rows - round(rows * VAL_FRACTION) - round(rows * TEST_FRACTION)
    entry = _entry(name)
    known = {spec.name for spec in entry.info.options}  # others are the run's to report
    resolved = resolve_options(entry.info, {k: v for k, v in options.items() if k in known})
    if "n_train" in resolved:  # a download with its own test set: train and validation share it
        return resolved["n_train"] - round(resolved["n_train"] * VAL_FRACTION)
    rows = resolved.get("n_samples") or _fixed_size(name)
    return rows - round(rows * VAL_FRACTION) - round(rows * TEST_FRACTION)


@functools.cache
def _fixed_size(name: str) -> int:
    """Rows of a set that has no size option (digits): made once and counted."""
    return len(_entry(name).make(seed=0).y)


def csv_data_rows(path) -> int:
    """Non-blank lines after the header of a saved CSV (a quoted value spanning lines counts
    twice: an upper bound, which is what a limit needs)."""
    if path is None or not Path(path).is_file():
        raise DatasetError(f"There is no file at {path}.", option="path")
    with open(path, "rb") as file:
        lines = sum(1 for line in file if line.strip())
    return max(0, lines - 1)
