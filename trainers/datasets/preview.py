"""A first look at a dataset for the Train page: a few training examples, every class shown."""
import numpy as np

from trainers.datasets.bundle import DatasetBundle
from trainers.datasets.text import decode


def preview(bundle: DatasetBundle, n: int = 16) -> dict:
    """Up to `n` training examples as plain arrays and strings, taking classes in turn.

    Keys: "x" (numpy [k, *input_shape]), "y" (numpy), "labels" (one string per example: its class
    name or its target value), and where they apply "texts" (token ids written out as words) and
    "rows" (dicts of feature name -> value, for tables).
    """
    rows = _spread_over_classes(bundle, n)
    x, y = bundle.x_train[rows].numpy(), bundle.y_train[rows].numpy()
    out = {"x": x, "y": y, "labels": [_label(bundle, target) for target in y]}
    if bundle.vocab is not None:
        out["texts"] = [decode(tokens, bundle.vocab) for tokens in x]
    if bundle.feature_names is not None:
        out["rows"] = [dict(zip(bundle.feature_names, map(float, values))) for values in x]
    return out


def _spread_over_classes(bundle: DatasetBundle, n: int) -> np.ndarray:
    """Row indices: the first example of each class, then the second of each, ... (regression:
    simply the first n)."""
    count = min(n, len(bundle.y_train))
    if bundle.info.task != "classification":
        return np.arange(count)
    labels = bundle.y_train.numpy()
    # Rank of each row within its class: 0 for a class's first row, 1 for its second, ...
    order = np.argsort(labels, kind="stable")
    starts = np.searchsorted(labels[order], labels[order])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order)) - starts
    return np.lexsort((np.arange(len(labels)), rank))[:count]  # by rank, then original order


def _label(bundle: DatasetBundle, target: np.ndarray) -> str:
    if bundle.class_names is not None:
        return bundle.class_names[int(target)]
    if bundle.target_scale is not None:  # show the value in the file's own units
        mean, std = bundle.target_scale
        target = target * std + mean
    return ", ".join(f"{value:.3g}" for value in np.ravel(target))
