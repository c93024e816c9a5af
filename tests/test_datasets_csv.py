"""CSV upload: encoding of mixed columns, and one clear DatasetError per kind of bad file."""
import time

import numpy as np
import pytest
import torch

from trainers.datasets import DatasetError, load_dataset
from trainers.datasets import tabular
from trainers.datasets.tabular import load_csv


def make_csv(rows: int = 60, *, gap_every: int = 9) -> bytes:
    """age (numbers), city (3 values), income (some missing), name (unique), bought (yes/no)."""
    lines = ["age,city,income,name,bought"]
    for i in range(rows):
        income = "" if i % gap_every == 0 else str(1000 + 7 * i)
        lines.append(f"{20 + i % 30},{['paris', 'rome', 'oslo'][i % 3]},{income},person{i},"
                     f"{'yes' if (i % 30) > 14 else 'no'}")
    return "\n".join(lines).encode()


def test_mixed_columns_are_encoded_and_standardised_on_train():
    bundle = load_csv(make_csv(), "bought")
    assert bundle.info.task == "classification" and bundle.class_names == ["no", "yes"]
    assert bundle.feature_names == ["age", "city=oslo", "city=paris", "city=rome", "income",
                                    "income missing"]
    assert bundle.x_train.dtype == torch.float32 and bundle.y_train.dtype == torch.int64
    assert not torch.isnan(bundle.x_train).any() and not torch.isnan(bundle.x_test).any()
    assert torch.allclose(bundle.x_train.mean(dim=0), torch.zeros(6), atol=1e-5)
    assert any("Left out 'name'" in note for note in bundle.notes)
    assert any("7 missing numbers" in note for note in bundle.notes)


def test_numeric_target_with_many_values_is_regression_with_its_scale_kept():
    bundle = load_csv(make_csv(), "income")
    assert bundle.info.task == "regression" and bundle.info.target_shape == (1,)
    assert bundle.y_train.dtype == torch.float32 and bundle.info.num_classes is None
    mean, std = bundle.target_scale
    assert 1000 < mean < 1500 and std > 10
    assert any("Left out 7 rows with no 'income' (lines 2, 11, 20" in n for n in bundle.notes)


def test_small_whole_number_target_is_classification_unless_told_otherwise():
    assert load_csv(make_csv(), "age").info.task == "regression"  # 30 whole numbers > 20
    csv = b"x,grade\n" + b"\n".join(f"{i},{i % 3}".encode() for i in range(40))
    bundle = load_csv(csv, "grade")
    assert bundle.info.task == "classification" and bundle.class_names == ["0", "1", "2"]
    assert load_csv(csv, "grade", task="regression").info.task == "regression"


def test_same_seed_same_split_and_a_path_works_like_bytes(tmp_path):
    path = tmp_path / "people.csv"
    path.write_bytes(make_csv())
    from_path, from_bytes = load_csv(path, "bought", seed=5), load_csv(make_csv(), "bought", seed=5)
    assert torch.equal(from_path.x_train, from_bytes.x_train)
    assert not torch.equal(load_csv(path, "bought", seed=6).y_train, from_bytes.y_train)


def test_excel_byte_order_mark_is_ignored():
    bundle = load_csv(b"\xef\xbb\xbf" + make_csv(), "bought")
    assert bundle.feature_names[0] == "age"


@pytest.mark.parametrize("data, target, message, line", [
    (b"", "y", "The file is empty", None),
    (b"  \n\n", "y", "The file is empty", None),
    (b"a,y\n1,2\n3,\xff\n", "y", "not UTF-8 text: line 3 has the byte 0xff", 3),
    (b"a,y\n", "y", "header row but no data rows", 2),
    (b"a,y\n1,2\n3,4,5\n", "y", "not valid CSV", 3),
    (make_csv(), "Bought", "no column 'Bought' to predict. Did you mean 'bought'?", None),
    (b"a,y\n" + b"\n".join(b"%d,same" % i for i in range(30)), "y", "same 'y' (same)", None),
    (b"a,y\n" + b"\n".join(b"%d,1" % i for i in range(5)), "y", "Only 5 rows", None),
    (b"name,y\n" + b"\n".join(b"n%d,%d" % (i, i % 2) for i in range(30)), "y",
     "No usable input columns: Left out 'name'", None),
    (b"a,y\n" + b"\n".join(b"%d,%d" % (i, i) for i in range(25)) + b"\n9,twelve", "y",
     "line 27 has 'twelve'", 27),
])
def test_each_bad_file_gets_a_clear_message(data, target, message, line):
    task = "regression" if b"twelve" in data else "auto"
    with pytest.raises(DatasetError) as caught:
        load_csv(data, target, task=task)
    assert message in str(caught.value)
    assert caught.value.line == line


def test_too_many_classes_suggests_regression():
    csv = b"a,y\n" + b"\n".join(b"%d,c%d" % (i, i) for i in range(150))
    with pytest.raises(DatasetError, match="150 different values.*regression"):
        load_csv(csv, "y")


def test_files_over_the_limit_are_refused_before_reading(tmp_path):
    path = tmp_path / "big.csv"
    path.write_bytes(make_csv(400))
    with pytest.raises(DatasetError, match="the limit is 0.0 MB"):
        load_csv(path, "bought", max_bytes=1000)
    with pytest.raises(DatasetError, match="limit"):
        load_csv(make_csv(400), "bought", max_bytes=1000)
    with pytest.raises(DatasetError, match="no file at"):
        load_csv(tmp_path / "nope.csv", "bought")


def test_many_valued_text_column_is_numbered_and_missing_text_is_a_category():
    cities = [f"city{i % 25}" for i in range(50)]
    colours = ["red", "", "blue"] * 17
    csv = "city,colour,y\n" + "\n".join(f"{c},{colours[i]},{i % 2}" for i, c in enumerate(cities))
    bundle = load_csv(csv.encode(), "y")
    assert bundle.feature_names == ["city", "colour=(missing)", "colour=blue", "colour=red"]
    assert np.isfinite(bundle.x_train.numpy()).all()


def test_unknown_task_is_refused():
    with pytest.raises(DatasetError, match="task must be one of"):
        load_csv(make_csv(), "bought", task="clustering")


def test_a_saved_upload_loads_by_name_like_any_dataset(tmp_path):
    path = tmp_path / "upload.csv"
    path.write_bytes(make_csv())
    bundle = load_dataset("csv", seed=2, path=str(path), target="bought")
    assert torch.equal(bundle.x_train, load_csv(path, "bought", seed=2).x_train)
    assert load_dataset("csv", path=str(path), target="income", task="regression").info.task == \
        "regression"
    with pytest.raises(DatasetError, match="needs the option 'target'"):
        load_dataset("csv", path=str(path))


def test_semicolon_and_tab_separated_files_are_read_too():
    comma = load_csv(make_csv(), "bought")
    for separator in (";", "\t"):
        other = load_csv(make_csv().replace(b",", separator.encode()), "bought")
        assert other.feature_names == comma.feature_names
        assert torch.equal(other.x_train, comma.x_train)


def test_infinite_numbers_count_as_missing():
    csv = b"a,y\n" + b"\n".join(b"%s,%d" % (b"inf" if i == 3 else b"%d" % i, i % 2)
                                for i in range(30))
    bundle = load_csv(csv, "y")
    assert bundle.feature_names == ["a", "a missing"] and torch.isfinite(bundle.x_train).all()


# --- issue #12: width and row limits, checked before parsing -----------------------------------

def test_a_very_wide_file_is_refused_on_its_header_before_parsing():
    """200,000 columns took 112 s of server CPU and 1.2 GB before ending in MessageSizeError."""
    columns = 200_000
    data = (",".join(f"c{i}" for i in range(columns)) + "\n"
            + ",".join("1" for _ in range(columns)) + "\n").encode()
    started = time.perf_counter()
    with pytest.raises(DatasetError, match="The header has 200,000 columns; at most 1,000") as error:
        load_csv(data, "c0", max_bytes=len(data))
    assert error.value.line == 1
    assert time.perf_counter() - started < 2  # one line read, not a parse


def test_too_many_rows_are_refused_with_the_limit(monkeypatch):
    monkeypatch.setattr(tabular, "MAX_CSV_ROWS", 100)
    data = ("a,b\n" + "1,0\n" * 150).encode()
    with pytest.raises(DatasetError, match="about 151 lines; at most 100 data rows"):
        load_csv(data, "b")


def test_the_page_lists_a_wide_header_as_an_error_not_a_selectbox():
    with pytest.raises(DatasetError, match="1,001 columns"):
        tabular.header_names(",".join(f"c{i}" for i in range(1_001)) + "\n1\n")
    assert tabular.header_names('"a";"b";"c"\n1;2;3\n') == ["a", "b", "c"]
