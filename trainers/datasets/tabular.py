"""CSV upload: a table with a header row becomes a standardised tabular dataset.

Numbers are standardised with training-set statistics (a missing number becomes the training
mean, plus a "<column> missing" indicator); text columns with few values are one-hot encoded,
with more values ordinal-encoded; a column that is different in every row (names, ids) is left out.
Everything that goes wrong is a DatasetError naming the column and, where it applies, the line.
"""
import io
import re
from dataclasses import dataclass
from difflib import get_close_matches
from pathlib import Path

import numpy as np
import pandas as pd

from trainers.datasets.bundle import DatasetBundle, DatasetInfo, Samples, build_bundle
from trainers.datasets.errors import DatasetError

# Megabytes of 1,000,000 bytes, the unit the browser's uploader counts in (trainers.limits).
MAX_CSV_BYTES = 10_000_000  # the server-wide upload limit (trainers.limits) may pass another
MAX_CSV_COLUMNS = 1_000  # checked on the header, before parsing: 200,000 columns took minutes
MAX_CSV_ROWS = 500_000
MIN_ROWS = 20
MAX_CLASSES = 100
MAX_ONE_HOT = 20  # text columns with more distinct values get one number per value instead
AUTO_CLASSIFY_MAX_VALUES = 20  # whole-number targets with at most this many values are classes
TASKS = ("auto", "classification", "regression")


def load_csv(data: bytes | str | Path, target: str, task: str = "auto", *, seed: int = 0,
             max_bytes: int = MAX_CSV_BYTES, name: str = "csv") -> DatasetBundle:
    """The CSV (its bytes, or a path to it) as a bundle predicting the column `target`."""
    if task not in TASKS:
        raise DatasetError(f"task must be one of {', '.join(TASKS)}, not '{task}'")
    table = read_table(_read_bytes(data, max_bytes))
    table, notes = _rows_with_target(table, target)
    task = _resolve_task(table[target], task)
    y, class_names = _encode_target(table[target], target, task)
    features, feature_names, feature_notes = _encode_features(table.drop(columns=[target]))
    info = DatasetInfo(name, "Uploaded table", task, (features.shape[1],), "float",
                       len(class_names) if class_names else None, (),
                       f"{len(table):,} rows, {features.shape[1]} input columns, "
                       f"predicting '{target}'.")
    samples = Samples(features, y, class_names=class_names, feature_names=feature_names,
                      notes=(*notes, *feature_notes))
    return build_bundle(info, samples, seed=seed, standardize_x=True, standardize_y=True)


def _read_bytes(data: bytes | str | Path, max_bytes: int) -> bytes:
    if isinstance(data, (str, Path)):
        path = Path(data)
        if not path.is_file():
            raise DatasetError(f"There is no file at {path}.")
        size = path.stat().st_size
        _check_size(size, max_bytes)  # before reading: a huge file never reaches memory
        data = path.read_bytes()
    _check_size(len(data), max_bytes)
    return data


def _check_size(size: int, max_bytes: int) -> None:
    if size > max_bytes:
        raise DatasetError(f"The file is {size / 1e6:.1f} MB; the limit is "
                           f"{max_bytes / 1e6:.1f} MB. Use fewer rows or columns.")


def read_table(data: bytes) -> pd.DataFrame:
    """The CSV as a DataFrame with at least one data row, or a DatasetError saying what is wrong."""
    if not data.strip():
        raise DatasetError("The file is empty: a CSV needs a header row and some data rows.")
    try:
        text = data.decode("utf-8-sig")  # -sig: Excel puts an invisible BOM at the start
    except UnicodeDecodeError as error:
        line = data[:error.start].count(b"\n") + 1
        raise DatasetError(f"The file is not UTF-8 text: line {line} has the byte "
                           f"0x{data[error.start]:02x}. Save it as 'CSV UTF-8' and upload it again.",
                           line=line) from None
    separator = _separator(text)
    header_names(text, separator)  # too wide: refused before pandas sees it
    rows = text.count("\n")
    if rows > MAX_CSV_ROWS + 1:
        raise DatasetError(f"The file has about {rows:,} lines; at most {MAX_CSV_ROWS:,} data rows "
                           "are accepted. Upload a sample of the rows.", line=MAX_CSV_ROWS + 2)
    try:
        table = pd.read_csv(io.StringIO(text), sep=separator, skipinitialspace=True)
    except pd.errors.EmptyDataError:
        raise DatasetError("The file has no columns: the first line should name them.") from None
    except pd.errors.ParserError as error:
        found = re.search(r"line (\d+)", str(error))
        line = int(found.group(1)) if found else None
        detail = str(error).split("error:")[-1].strip()
        raise DatasetError(f"The file is not valid CSV: {detail}. Each row needs as many "
                           "separators as the header.", line=line) from None
    if table.empty:
        raise DatasetError("The file has a header row but no data rows.", line=2)
    table.columns = [str(column).strip() for column in table.columns]
    return table


def header_names(text: str, separator: str | None = None) -> list[str]:
    """The header row's column names (split plainly, quotes removed), or a DatasetError when
    there are more than MAX_CSV_COLUMNS: the check reads one line, whatever the file's width."""
    separator = separator or _separator(text)
    header = text.lstrip("\ufeff").lstrip().split("\n", 1)[0].rstrip("\r")
    count = header.count(separator) + 1
    if count > MAX_CSV_COLUMNS:
        raise DatasetError(f"The header has {count:,} columns; at most {MAX_CSV_COLUMNS:,} are "
                           "accepted. Keep the columns the model should learn from.", line=1)
    return [name.strip().strip('"').strip() for name in header.split(separator)]


def _separator(text: str) -> str:
    """The header's most frequent of , ; and tab: spreadsheets in many countries write ';'."""
    header = text.lstrip().split("\n", 1)[0]
    return max(",;\t", key=header.count)


def _line(row_index) -> int:
    return int(row_index) + 2  # line 1 is the header; rows count from 0


def _rows_with_target(table: pd.DataFrame, target: str) -> tuple[pd.DataFrame, list[str]]:
    require_column(table, target, f"column '{target}' to predict")
    return rows_having(table, table[target].isna(), lacking=f"no '{target}'",
                       having=f"a value in '{target}'", column=target)


def require_column(table: pd.DataFrame, column: str, what: str) -> None:
    """DatasetError naming the nearest column when `column` ("column 'x' to predict") is not
    among the table's."""
    if column not in table.columns:
        guess = get_close_matches(column, list(table.columns), n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        raise DatasetError(f"There is no {what}.{hint} The columns are: "
                           f"{', '.join(table.columns)}.", column=column)


def rows_having(table: pd.DataFrame, missing: pd.Series, *, lacking: str, having: str,
                column: str) -> tuple[pd.DataFrame, list[str]]:
    """The rows not `missing` ("with no 'price'"), with a note naming the file lines left out;
    DatasetError when too few rows remain ("have a value in 'price'") to split three ways."""
    notes = []
    if missing.any():
        lines = ", ".join(str(_line(i)) for i in table.index[missing][:5])
        notes.append(f"Left out {int(missing.sum())} rows with {lacking} (lines {lines}"
                     f"{', ...' if missing.sum() > 5 else ''}).")
    table = table[~missing]
    if len(table) < MIN_ROWS:
        raise DatasetError(f"Only {len(table)} rows have {having}; at least {MIN_ROWS} are needed "
                           "to train, validate and test.", column=column)
    return table, notes


def _resolve_task(column: pd.Series, task: str) -> str:
    if task != "auto":
        return task
    if not pd.api.types.is_numeric_dtype(column) or pd.api.types.is_bool_dtype(column):
        return "classification"
    whole = bool(np.all(np.mod(column.to_numpy(dtype=float), 1) == 0))
    return "classification" if whole and column.nunique() <= AUTO_CLASSIFY_MAX_VALUES else "regression"


def _encode_target(column: pd.Series, target: str, task: str):
    """(y, class names): int64 class ids for classification, float32 [N, 1] for regression."""
    if task == "regression":
        numbers = pd.to_numeric(column, errors="coerce")
        if numbers.isna().any():
            bad = numbers.index[numbers.isna()][0]
            raise DatasetError(f"'{target}' must hold numbers to predict it by regression; line "
                               f"{_line(bad)} has '{column[bad]}'. Choose classification instead.",
                               line=_line(bad), column=target)
        return numbers.to_numpy(dtype=np.float32)[:, None], None  # [N] -> [N, 1]
    values = column.astype(str) if not pd.api.types.is_numeric_dtype(column) else column
    classes = np.unique(values.to_numpy())
    if len(classes) < 2:
        raise DatasetError(f"Every row has the same '{target}' ({classes[0]}): with one class there "
                           "is nothing to learn. Pick another column.", column=target)
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"'{target}' has {len(classes)} different values, too many classes "
                           f"(at most {MAX_CLASSES}); predict it by regression or pick another "
                           "column.", column=target)
    y = np.searchsorted(classes, values.to_numpy()).astype(np.int64)
    return y, [_class_name(value) for value in classes]


def _class_name(value) -> str:
    return str(int(value)) if isinstance(value, float) and value.is_integer() else str(value)


def _encode_features(table: pd.DataFrame) -> tuple[np.ndarray, list[str], list[str]]:
    """Feature matrix [N, F] (NaN where a number is missing), its column names, and notes."""
    encoded = [_encode_column(str(column), table[column]) for column in table.columns]
    notes = [e.note for e in encoded if e.note]
    kept = [e for e in encoded if e.values is not None]
    if not kept:
        raise DatasetError("No usable input columns: " + " ".join(
            notes or ["the table has only the column to predict."]))
    return np.hstack([e.values for e in kept]), [n for e in kept for n in e.names], notes


@dataclass
class EncodedColumn:
    values: np.ndarray | None  # [N, k] floats, None when the column is left out
    names: list[str]
    note: str | None = None


def _encode_column(name: str, values: pd.Series) -> EncodedColumn:
    if values.isna().all():
        return EncodedColumn(None, [], f"Left out '{name}': it is empty.")
    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        return _numbers(name, values)
    if values.nunique() == len(values) > MAX_ONE_HOT:
        return EncodedColumn(None, [], f"Left out '{name}': its text differs in every row "
                             "(a name or id).")
    if values.nunique(dropna=False) <= MAX_ONE_HOT:
        one_hot = pd.get_dummies(values.astype("string").fillna("(missing)"), dtype=np.float64)
        return EncodedColumn(one_hot.to_numpy(), [f"{name}={value}" for value in one_hot.columns])
    codes, _ = pd.factorize(values.astype("string"), sort=True)  # missing -> -1
    return EncodedColumn(np.where(codes < 0, np.nan, codes)[:, None].astype(np.float64), [name],
                         f"'{name}' has {values.nunique()} different values: numbered in "
                         "alphabetical order.")


def _numbers(name: str, values: pd.Series) -> EncodedColumn:
    numbers = values.to_numpy(dtype=np.float64, copy=True)
    numbers[~np.isfinite(numbers)] = np.nan  # "inf" in a file is as good as missing
    missing = np.isnan(numbers)
    if not missing.any():
        return EncodedColumn(numbers[:, None], [name])
    # The gap itself can carry information, so the model also sees where it was.
    return EncodedColumn(np.stack([numbers, missing.astype(np.float64)], axis=1),
                         [name, f"{name} missing"],
                         f"'{name}': {int(missing.sum())} missing numbers filled with the "
                         "training mean.")
