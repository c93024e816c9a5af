"""The offline catalog: shapes and dtypes as documented, balance, determinism, learnability."""
import numpy as np
import pytest
import torch
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression, Ridge
from sklearn.neighbors import KNeighborsClassifier

from trainers.datasets import (AugmentOptions, DatasetError, augment_batch, default_augment,
                               list_datasets, load_dataset, preview)
from trainers.datasets.splits import Standardizer, split_indices
from trainers.datasets.text import NEGATORS, decode

OFFLINE = [info.name for info in list_datasets(include_online=False)]
# The binding table in docs/architecture.md: name -> (input shape, x dtype, classes).
DOCUMENTED = {
    "digits": ((1, 8, 8), torch.float32, 10), "moons": ((2,), torch.float32, 2),
    "circles": ((2,), torch.float32, 2), "spiral": ((2,), torch.float32, 2),
    "xor": ((2,), torch.float32, 2), "blobs": ((2,), torch.float32, 3),
    "shapes": ((1, 28, 28), torch.float32, 10), "colour_shapes": ((3, 32, 32), torch.float32, 3),
    "sequences": ((20, 100), torch.float32, 10),
    "sine": ((32, 1), torch.float32, None), "sentiment": ((16,), torch.int64, 2),
    "memory": ((16, 2), torch.float32, 2),
}


def flat(x: torch.Tensor) -> np.ndarray:
    return x.reshape(len(x), -1).numpy()


def test_catalog_lists_the_documented_offline_sets_and_the_downloads():
    assert sorted(OFFLINE) == sorted(DOCUMENTED)
    online = {info.name for info in list_datasets()} - set(OFFLINE)
    assert online == {"mnist", "fashion_mnist", "cifar10"}
    assert all(info.description and "\n" not in info.description for info in list_datasets())


@pytest.mark.parametrize("name", sorted(DOCUMENTED))
def test_bundle_matches_the_documented_shapes_and_dtypes(name):
    shape, x_dtype, classes = DOCUMENTED[name]
    bundle = load_dataset(name)
    info = bundle.info
    assert (info.input_shape, info.num_classes) == (shape, classes)
    for x, y in [(bundle.x_train, bundle.y_train), (bundle.x_val, bundle.y_val),
                 (bundle.x_test, bundle.y_test)]:
        assert x.dtype == x_dtype and tuple(x.shape[1:]) == shape and len(x) == len(y) > 0
        assert y.dtype == (torch.int64 if classes else torch.float32)
        assert tuple(y.shape[1:]) == info.target_shape
    n_train = len(bundle.x_train)
    n_all = n_train + len(bundle.x_val) + len(bundle.x_test)
    assert 0.65 < n_train / n_all < 0.75  # 70/15/15
    if classes:
        counts = torch.bincount(bundle.y_train, minlength=classes)
        assert len(bundle.class_names) == classes
        assert counts.min() > 0.8 * counts.max(), f"{name} is unbalanced: {counts.tolist()}"


@pytest.mark.parametrize("name", ["digits", "shapes"])
def test_images_are_pixels_in_0_1(name):
    x = load_dataset(name).x_train
    assert x.min() >= 0.0 and x.max() <= 1.0 and x.max() > 0.9


@pytest.mark.parametrize("name", ["shapes", "spiral", "sequences", "sentiment", "sine"])
def test_same_seed_same_data_other_seed_other_data(name):
    first, again = load_dataset(name, seed=3), load_dataset(name, seed=3)
    other = load_dataset(name, seed=4)
    assert torch.equal(first.x_train, again.x_train) and torch.equal(first.y_test, again.y_test)
    assert not torch.equal(first.x_train, other.x_train)


def test_options_change_the_data_and_the_info():
    bundle = load_dataset("shapes", n_samples=200, size=32, classes=4)
    assert bundle.info.input_shape == (1, 32, 32) and bundle.info.num_classes == 4
    assert bundle.class_names == ["circle", "square", "triangle", "cross"]
    assert set(bundle.y_train.tolist()) == {0, 1, 2, 3}
    small = load_dataset("moons", n_samples=100)
    assert len(small.y_train) + len(small.y_val) + len(small.y_test) == 100
    quiet, noisy = load_dataset("moons", noise=0.0), load_dataset("moons", noise=0.5)
    assert flat(noisy.x_train).std() > flat(quiet.x_train).std()


@pytest.mark.parametrize("name, options, field, words", [
    ("moons", {"noise": 5.0}, "noise", "noise must be at most 1, got 5.0"),
    ("shapes", {"size": 28.5}, "size", "whole number"),
    ("moons", {"colour": "red"}, "colour", "has no option"),
])
def test_bad_options_name_the_option(name, options, field, words):
    with pytest.raises(DatasetError, match=words) as caught:
        load_dataset(name, **options)
    assert caught.value.option == field and field in str(caught.value)


def test_unknown_dataset_suggests_the_closest_name():
    with pytest.raises(DatasetError, match="Did you mean 'digits'"):
        load_dataset("digit")


@pytest.mark.parametrize("name", ["moons", "circles", "xor", "spiral", "blobs"])
def test_toy_sets_are_learnable(name):
    bundle = load_dataset(name)
    model = KNeighborsClassifier(5).fit(flat(bundle.x_train), bundle.y_train.numpy())
    assert model.score(flat(bundle.x_test), bundle.y_test.numpy()) > 0.9


def test_digits_learnable_by_logistic_regression():
    bundle = load_dataset("digits")
    model = LogisticRegression(max_iter=300).fit(flat(bundle.x_train), bundle.y_train.numpy())
    assert model.score(flat(bundle.x_test), bundle.y_test.numpy()) > 0.9


def test_shapes_far_above_chance_even_for_nearest_neighbours():
    bundle = load_dataset("shapes", n_samples=1000, size=16)
    model = KNeighborsClassifier(5).fit(flat(bundle.x_train), bundle.y_train.numpy())
    assert model.score(flat(bundle.x_test), bundle.y_test.numpy()) > 0.4  # chance: 0.1


def test_sine_next_value_is_predictable_from_the_window():
    bundle = load_dataset("sine")
    model = Ridge(alpha=1e-3).fit(flat(bundle.x_train), bundle.y_train.numpy())
    assert model.score(flat(bundle.x_test), bundle.y_test.numpy()) > 0.9  # R^2


def test_sequences_class_is_the_motion_not_the_position():
    bundle = load_dataset("sequences", n_samples=600)
    x, labels = bundle.x_test.numpy(), bundle.y_test.numpy()
    velocities = np.arange(-5, 6)
    # Correlate step t with step t+5 shifted by 5 * velocity; the best velocity is the class.
    scores = np.stack([(x[:, :-5] * np.roll(x[:, 5:], -5 * v, axis=2)).mean(axis=(1, 2))
                       for v in velocities], axis=1)
    true_velocity = np.where(labels < 5, 1, -1) * (labels % 5 + 1)
    assert (velocities[scores.argmax(axis=1)] == true_velocity).mean() > 0.95
    # Pixel positions alone (a linear model on the raw values) do much worse.
    linear = LogisticRegression(max_iter=200).fit(flat(bundle.x_train), bundle.y_train.numpy())
    assert linear.score(flat(bundle.x_test), labels) < 0.5


def test_sentiment_tokens_padding_and_negation():
    bundle = load_dataset("sentiment")
    tokens = bundle.x_train
    assert len(bundle.vocab) == 100 and bundle.vocab[0] == "<pad>" and tokens.max() < 100
    started = (tokens != 0).cumsum(dim=1) > 0
    assert not (started & (tokens == 0)).any(), "padding must only come before the words"
    texts = [decode(row, bundle.vocab) for row in tokens]
    negated = [t for t in texts if set(t.split()) & set(NEGATORS)]
    assert len(negated) > 0.3 * len(texts)
    # Word order matters: a bag of single words barely beats chance, word pairs do far better.
    words = _accuracy(_counts(tokens, 100), _counts(bundle.x_test, 100), bundle)
    pairs = _accuracy(_counts(_pairs(tokens), 100**2), _counts(_pairs(bundle.x_test), 100**2), bundle)
    assert words < 0.7 and pairs > words + 0.1


def _pairs(tokens: torch.Tensor) -> torch.Tensor:
    return tokens[:, :-1] * 100 + tokens[:, 1:]  # [N, 16] -> [N, 15] ids of adjacent word pairs


def _counts(ids: torch.Tensor, size: int) -> csr_matrix:
    """Sparse [N, size] counts of each id per row (a bag of words, or of word pairs)."""
    rows = np.repeat(np.arange(len(ids)), ids.shape[1])
    return csr_matrix((np.ones(ids.numel()), (rows, ids.numpy().ravel())), shape=(len(ids), size))


def _accuracy(train: csr_matrix, test: csr_matrix, bundle) -> float:
    model = LogisticRegression(max_iter=500).fit(train, bundle.y_train.numpy())
    return model.score(test, bundle.y_test.numpy())


def test_split_is_disjoint_complete_and_stratified():
    y = np.repeat(np.arange(4), [100, 40, 20, 1])
    parts = split_indices(y, seed=0, stratify=True)
    joined = np.concatenate([parts.train, parts.val, parts.test])
    assert sorted(joined.tolist()) == list(range(len(y)))
    assert np.bincount(y[parts.test], minlength=4).tolist() == [15, 6, 3, 0]
    assert 3 in y[parts.train]  # a lone sample is trained on, never only tested


def test_standardizer_uses_train_statistics_only():
    train = np.array([[1.0, 5.0], [3.0, 5.0]])
    scaler = Standardizer.fit(train)
    assert scaler.apply(np.array([[2.0, 5.0], [5.0, 6.0]])).tolist() == [[0.0, 0.0], [3.0, 1.0]]


def test_augment_shifts_each_image_by_at_most_the_limit_and_keeps_the_input():
    x = torch.zeros(64, 1, 9, 9)
    x[:, 0, 4, 4] = 1.0  # one bright pixel in the centre
    out = augment_batch(x, {"shift": 2}, torch.Generator().manual_seed(0))
    assert x[:, 0, 4, 4].eq(1).all(), "the input batch must not change"
    lit = out[:, 0].flatten(1).argmax(dim=1)  # [64, 9, 9] -> [64, 81] -> where the pixel went
    rows, cols = lit // 9, lit % 9
    assert out.sum() == 64 and rows.sub(4).abs().max() == 2 and cols.sub(4).abs().max() == 2
    assert len(set(zip(rows.tolist(), cols.tolist()))) > 10  # each image has its own shift


def test_augment_flip_noise_and_repeatability():
    x = torch.zeros(200, 1, 4, 4)
    x[:, :, :, 0] = 1.0  # left column lit
    options = AugmentOptions(flip=True, noise=0.0)
    out = augment_batch(x, options, torch.Generator().manual_seed(1))
    mirrored = out[:, 0, :, 3].eq(1).all(dim=1)
    assert 60 < int(mirrored.sum()) < 140
    again = augment_batch(x, options, torch.Generator().manual_seed(1))
    assert torch.equal(out, again)
    noisy = augment_batch(x, {"noise": 0.2}, torch.Generator().manual_seed(1))
    assert 0.0 <= noisy.min() and noisy.max() <= 1.0 and not torch.equal(noisy, x)


def test_augment_refuses_bad_options_and_non_images():
    generator = torch.Generator()
    with pytest.raises(DatasetError, match="unknown augmentation 'rotate'"):
        augment_batch(torch.zeros(2, 1, 4, 4), {"rotate": 10}, generator)
    with pytest.raises(DatasetError, match="shift must be a whole number"):
        AugmentOptions(shift=-1)
    with pytest.raises(DatasetError, match=r"float image batch \[B, C, H, W\]"):
        augment_batch(torch.zeros(2, 16, dtype=torch.int64), {"noise": 0.1}, generator)


def test_default_augment_suits_the_dataset():
    assert default_augment(load_dataset("digits").info) == AugmentOptions(shift=1, noise=0.05)
    assert default_augment(load_dataset("shapes", n_samples=100).info).flip  # mirror-safe
    assert default_augment(load_dataset("moons").info) is None


def test_preview_shows_every_class_first_and_writes_tokens_out():
    shown = preview(load_dataset("digits"), 12)
    assert shown["x"].shape == (12, 1, 8, 8) and sorted(shown["labels"][:10]) == list("0123456789")
    text = preview(load_dataset("sentiment"), 4)
    assert set(text["labels"][:2]) == {"negative", "positive"} and all(text["texts"])
    assert not any("<pad>" in t for t in text["texts"])
