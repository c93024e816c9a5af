"""People's own sentences: a text CSV becomes token ids with a vocabulary from the training
split only, and the Transformer template trains on it once the fit check's fixes are applied."""
import csv
import io

import pytest
import torch

from builder import apply_fix, load_graph, validate
from builder.templates import load_template
from trainers.config import default_config
from trainers.datasets import DatasetError, check_graph_fits, load_dataset
from trainers.datasets.text_table import PAD, UNK, load_text_csv, tokenize
from trainers.loop import Trainer


def reviews_csv(rows: int = 60, extra: list[tuple[str, str]] = ()) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(["review", "stars", "mood"])
    for i in range(rows):
        good = i % 2 == 0
        text = (f"{i}: I {'loved' if good else 'hated'} this film, it was "
                f"{'great' if good else 'awful'}!")
        writer.writerow([text, i % 5, "happy" if good else "sad"])
    for text, mood in extra:
        writer.writerow([text, 3, mood])
    return out.getvalue().encode()


def test_tokens_padding_unknown_and_vocabulary_from_training_rows_only():
    bundle = load_text_csv(reviews_csv(), text="review", label="mood", max_length=8)
    assert bundle.class_names == ["happy", "sad"] and bundle.info.input_dtype == "long"
    assert bundle.info.input_shape == (8,) and bundle.x_train.dtype == torch.int64
    assert bundle.vocab[0] == PAD and bundle.vocab[1] == UNK
    assert bundle.info.vocab_size == len(bundle.vocab)
    words = set(bundle.vocab.values())
    assert {"loved", "hated", "!", ","} <= words
    # "<i>: ...": each number occurs once, so a held-out row's number was never seen in training.
    train_numbers = {w for w in words if w.isdigit()}
    assert len(train_numbers) == len(bundle.x_train)
    held_out = torch.cat([bundle.x_val, bundle.x_test])
    assert (held_out == 1).any() and not (bundle.x_train == 1).any()
    assert any("are longer than 8 tokens" in note for note in bundle.notes)
    # Left padding: a text's last token is in the last position.
    assert (bundle.x_train[:, -1] != 0).all()


def test_tokenize_splits_words_and_punctuation_in_any_script():
    assert tokenize("Très BIEN, merci!") == ["très", "bien", ",", "merci", "!"]
    assert tokenize("") == []


def test_max_vocab_keeps_the_most_frequent_words_and_the_same_seed_gives_the_same_ids():
    first = load_text_csv(reviews_csv(), text="review", label="mood", max_vocab=6)
    # Every row has "!", ",", ":", "film", ... once: the most frequent, ties alphabetical.
    assert list(first.vocab.values()) == [PAD, UNK, "!", ",", ":", "film"]
    again = load_text_csv(reviews_csv(), text="review", label="mood", max_vocab=6)
    assert first.vocab == again.vocab and torch.equal(first.x_train, again.x_train)


@pytest.mark.parametrize("options,expected", [
    ({"text": "reviw", "label": "mood"}, "no text column 'reviw'. Did you mean 'review'"),
    ({"text": "review", "label": "review"}, "two different columns"),
    ({"text": "review", "label": "moood"}, "no label column 'moood'"),
])
def test_wrong_columns_are_named(options, expected):
    with pytest.raises(DatasetError, match=expected):
        load_text_csv(reviews_csv(), **options)


def test_too_few_rows_one_class_and_too_many_rows_are_refused():
    from trainers.datasets.upload_limits import UploadLimits
    with pytest.raises(DatasetError, match="Only 10 rows"):
        load_text_csv(reviews_csv(10), text="review", label="mood")
    one_class = b"text,label\n" + b"".join(b"hello %d,same\n" % i for i in range(30))
    with pytest.raises(DatasetError, match="same 'label'"):
        load_text_csv(one_class, text="text", label="label")
    with pytest.raises(DatasetError, match="LAYERLOOM_MAX_TEXT_ROWS"):
        load_text_csv(reviews_csv(), text="review", label="mood",
                      limits=UploadLimits(max_text_rows=50))


def test_saved_file_loads_by_name_and_the_transformer_trains_after_the_offered_fixes(tmp_path):
    path = tmp_path / "reviews.csv"
    path.write_bytes(reviews_csv(200))  # its "<i>:" numbers make a vocabulary above 100
    bundle = load_dataset("text_csv", path=str(path), text="review", label="mood", max_length=12)
    graph = load_template("transformer_text")
    for _ in range(3):  # Input shape, Embedding rows: one fix at a time, as the page offers them
        problems = check_graph_fits(validate(graph), bundle.info, "classification")
        if not problems:
            break
        assert all(problem.fix is not None for problem in problems), problems
        graph = apply_fix(graph, problems[0].fix)
    assert not check_graph_fits(validate(graph), bundle.info, "classification")
    nodes = {node.id: node for node in load_graph(graph.to_dict()).nodes}
    assert nodes["tokens"].params["shape"] == [12]
    assert nodes["embed"].params["num_embeddings"] == bundle.info.vocab_size
    from builder import compile_graph
    config = default_config("classification", epochs=2, batch_size=16)
    result = Trainer(compile_graph(graph), bundle, config, callbacks=[]).fit()
    assert result["status"] == "finished", result
    with pytest.raises(DatasetError, match="needs the option 'label'"):
        load_dataset("text_csv", path=str(path), text="review")
