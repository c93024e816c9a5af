"""People's own sentences: a CSV with a text column and a label column becomes token ids.

Words are lower-cased and split into runs of letters/digits and single punctuation marks. The
vocabulary is built from the *training* split only (validation and test words it never saw become
<unk>, as new sentences will), most frequent first, capped at `max_vocab`; id 0 is <pad> and 1 is
<unk>. Each text keeps its first `max_length` tokens, padded on the left like the built-in
`sentiment` set (so a recurrent model's last step is a real word). Input: `[max_length]` long.
"""
from __future__ import annotations

import re
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

from builder import ParamSpec
from trainers.datasets.bundle import DatasetBundle, DatasetInfo, Samples, build_bundle
from trainers.datasets.errors import DatasetError
from trainers.datasets.splits import split_indices
from trainers.datasets.tabular import MAX_CLASSES, read_table, require_column, rows_having
from trainers.datasets.upload_limits import UploadLimits, read_upload

NAME = "text_csv"
PAD, UNK = "<pad>", "<unk>"
TOKEN = re.compile(r"\w+|[^\w\s]")
OPTIONS = (
    ParamSpec("max_length", "int", 32, min=4, max=256,
              doc="Tokens kept per text (the rest is cut); shorter texts are padded."),
    ParamSpec("max_vocab", "int", 5000, min=20, max=50000,
              doc="Most frequent training words kept, <pad> and <unk> included."),
)


def tokenize(text: str) -> list[str]:
    return TOKEN.findall(text.lower())


def load_text_csv(data: bytes | str | Path, *, text: str, label: str, max_length: int = 32,
                  max_vocab: int = 5000, seed: int = 0, max_bytes: int | None = None,
                  limits: UploadLimits | None = None) -> DatasetBundle:
    """The CSV (bytes or a path) as a token classification bundle: `text` -> `label`."""
    limits = limits or UploadLimits.from_env()
    table = read_table(read_upload(data, max_bytes))
    table, notes = _usable_rows(table, text, label, limits)
    labels = table[label].astype(str).str.strip().to_numpy()
    class_names = sorted(set(labels))
    if len(class_names) < 2:
        raise DatasetError(f"Every row has the same '{label}' ({class_names[0]}): with one class "
                           "there is nothing to learn.", column=label)
    if len(class_names) > MAX_CLASSES:
        raise DatasetError(f"'{label}' has {len(class_names)} different values; at most "
                           f"{MAX_CLASSES} classes.", column=label)
    y = np.searchsorted(class_names, labels).astype(np.int64)
    tokens = [tokenize(value) for value in table[text].astype(str)]
    train_rows = split_indices(y, seed=seed, stratify=True).train  # the split build_bundle makes
    words = _vocabulary([tokens[row] for row in train_rows], max_vocab)
    x, cut = _encode(tokens, {word: index for index, word in enumerate(words)}, max_length)
    notes += _notes(tokens, words, cut, max_length, train_rows)
    info = DatasetInfo(NAME, "Your texts", "classification", (max_length,), "long",
                       len(class_names), (), f"{len(y):,} texts, {len(class_names)} classes, "
                       f"{len(words):,} words.", options=OPTIONS)
    samples = Samples(x, y, class_names=class_names, vocab=dict(enumerate(words)), notes=tuple(notes))
    return build_bundle(info, samples, seed=seed)


def _usable_rows(table: pd.DataFrame, text: str, label: str, limits: UploadLimits):
    for role, column in (("text", text), ("label", label)):
        require_column(table, column, f"{role} column '{column}'")
    if text == label:
        raise DatasetError("The text and the label must be two different columns.", column=label)
    if len(table) > limits.max_text_rows:
        raise DatasetError(f"The file has {len(table):,} rows; at most {limits.max_text_rows:,} are "
                           f"read ({UploadLimits.variable('max_text_rows')}).")
    return rows_having(table, table[text].isna() | table[label].isna(), lacking="no text or no label",
                       having="both a text and a label", column=text)


def _vocabulary(train_texts: list[list[str]], max_vocab: int) -> list[str]:
    """[<pad>, <unk>, most frequent training word, ...]; ties in alphabetical order."""
    counts = Counter(word for words in train_texts for word in words)
    ranked = sorted(counts, key=lambda word: (-counts[word], word))
    return [PAD, UNK, *ranked[:max_vocab - 2]]


def _encode(tokens: list[list[str]], ids: dict[str, int], max_length: int) -> tuple[np.ndarray, int]:
    """Token ids [N, max_length], left-padded with 0; and how many texts were cut."""
    unknown = ids[UNK]
    x = np.zeros((len(tokens), max_length), dtype=np.int64)
    for row, words in enumerate(tokens):
        kept = [ids.get(word, unknown) for word in words[:max_length]]
        if kept:
            x[row, max_length - len(kept):] = kept
    return x, sum(len(words) > max_length for words in tokens)


def _notes(tokens, words, cut: int, max_length: int, train_rows: np.ndarray) -> list[str]:
    known = set(words)
    held_out = np.setdiff1d(np.arange(len(tokens)), train_rows)
    seen = [word for row in held_out for word in tokens[row][:max_length]]
    unknown = sum(word not in known for word in seen) / max(len(seen), 1)
    notes = [f"Vocabulary: {len(words) - 2:,} words from the training texts, plus {PAD} and {UNK}; "
             f"{unknown:.0%} of the validation and test words are {UNK}."]
    if cut:
        notes.append(f"{cut} texts are longer than {max_length} tokens: their first {max_length} "
                     "are kept.")
    return notes
