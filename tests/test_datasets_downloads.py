"""Downloaded sets without the network: IDX and CIFAR-10 binary parsers on tiny files written
here, the checksum check, the cache, and the offline message."""
import gzip
import hashlib
import io
import struct
import tarfile
import urllib.error

import numpy as np
import pytest
import torch

from trainers.datasets import DatasetError, load_dataset
from trainers.datasets import downloads
from trainers.datasets.downloads import RemoteFile


@pytest.fixture(autouse=True)
def empty_cache(tmp_path, monkeypatch):
    monkeypatch.setenv(downloads.CACHE_ENV, str(tmp_path / "cache"))
    monkeypatch.delenv(downloads.OFFLINE_ENV, raising=False)


def idx_bytes(array: np.ndarray) -> bytes:
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + array.astype(np.uint8).tobytes()


def serve(monkeypatch, files: dict[str, bytes]) -> list[str]:
    """Answer downloads from `files` (by URL); returns the list of URLs asked for."""
    asked = []

    def fake_open(url):
        asked.append(url)
        return io.BytesIO(files[url])
    monkeypatch.setattr(downloads, "_open_url", fake_open)
    return asked


def remote(name: str, data: bytes) -> RemoteFile:
    return RemoteFile(f"https://example.test/{name}", hashlib.sha256(data).hexdigest(), len(data))


def test_idx_parser_reads_shape_and_values():
    images = np.arange(2 * 3 * 4).reshape(2, 3, 4) % 256
    assert np.array_equal(downloads.parse_idx(idx_bytes(images), "t"), images)


@pytest.mark.parametrize("data, message", [
    (b"PK\x03\x04rest", "is not an IDX file"),
    (bytes([0, 0, 8, 3]) + b"\0\0\0\2", "ends inside its header"),
    (idx_bytes(np.zeros((2, 3), np.uint8))[:-1], "shape [2, 3] needs 6 bytes of values, the file has 5"),
])
def test_idx_parser_rejects_damaged_files(data, message):
    with pytest.raises(DatasetError, match=message.replace("[", r"\[").replace("]", r"\]")):
        downloads.parse_idx(data, "t")


def test_mnist_style_set_downloads_once_then_comes_from_the_cache(monkeypatch):
    rng = np.random.default_rng(0)
    arrays = [rng.integers(0, 256, (150, 28, 28)), rng.integers(0, 10, 150),
              rng.integers(0, 256, (40, 28, 28)), rng.integers(0, 10, 40)]
    payloads = [gzip.compress(idx_bytes(a)) for a in arrays]
    files = tuple(remote(f"part{i}.gz", p) for i, p in enumerate(payloads))
    asked = serve(monkeypatch, {f.url: p for f, p in zip(files, payloads)})
    make = downloads._make_idx_set(files, [str(d) for d in range(10)], "mnist")
    samples = make(seed=0, n_train=100, n_test=40)
    assert samples.x.shape == (100, 1, 28, 28) and samples.x.dtype == np.float32
    assert 0.0 <= samples.x.min() and samples.x.max() <= 1.0
    test_x, test_y = samples.fixed_test
    assert np.allclose(np.sort(test_x.reshape(40, -1), axis=0),
                       np.sort(arrays[2].reshape(40, -1) / 255.0, axis=0))
    assert len(asked) == 4
    make(seed=1, n_train=100, n_test=40)
    assert len(asked) == 4, "cached files must not be downloaded again"


def test_a_file_with_the_wrong_checksum_is_refused_and_not_kept(monkeypatch):
    good = remote("labels.gz", b"the real bytes")
    serve(monkeypatch, {good.url: b"the fake bytes"})
    with pytest.raises(DatasetError, match="failed its checksum.*It was not kept"):
        downloads.fetch(good, "mnist")
    assert not list(downloads.cache_dir().rglob("*.gz*"))


def test_a_server_sending_too_much_is_cut_off(monkeypatch):
    small = remote("small.gz", b"1234")
    serve(monkeypatch, {small.url: b"1234" * 1000})
    with pytest.raises(DatasetError, match="more than the expected 4 bytes"):
        downloads.fetch(small, "mnist")


def test_offline_says_it_needs_internet_and_names_the_offline_sets(monkeypatch):
    def no_network(url):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")
    monkeypatch.setattr(downloads, "_open_url", no_network)
    with pytest.raises(DatasetError, match="'mnist' needs internet.*offline sets.*digits"):
        load_dataset("mnist")


def test_offline_switch_never_touches_the_network(monkeypatch):
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    asked = serve(monkeypatch, {})
    with pytest.raises(DatasetError, match="needs internet.*LAYERLOOM_OFFLINE=1"):
        load_dataset("fashion_mnist")
    assert asked == []


def cifar_batch(labels: np.ndarray, rng) -> bytes:
    pixels = rng.integers(0, 256, (len(labels), 3072), dtype=np.uint8)
    return np.hstack([labels[:, None].astype(np.uint8), pixels]).tobytes()  # [N, 1 + 3072]


def cifar_archive(rng) -> bytes:
    members = {f"data_batch_{i}.bin": cifar_batch(np.arange(30) % 10, rng) for i in range(1, 6)}
    members["test_batch.bin"] = cifar_batch(np.arange(100) % 10, rng)
    members["batches.meta.txt"] = "\n".join(["airplane", "automobile", "bird", "cat", "deer",
                                             "dog", "frog", "horse", "ship", "truck"]).encode()
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in members.items():
            info = tarfile.TarInfo(f"cifar-10-batches-bin/{name}")
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def test_cifar10_binary_archive_loads_as_a_bundle(monkeypatch):
    archive = cifar_archive(np.random.default_rng(1))
    fake = remote("cifar-10-binary.tar.gz", archive)
    monkeypatch.setattr(downloads, "CIFAR10_FILE", fake)
    serve(monkeypatch, {fake.url: archive})
    bundle = load_dataset("cifar10", n_train=150, n_test=100)
    assert bundle.info.input_shape == (3, 32, 32) and bundle.class_names[3] == "cat"
    assert len(bundle.x_test) == 100 and len(bundle.x_train) + len(bundle.x_val) == 150
    assert bundle.x_train.dtype == torch.float32 and bundle.x_train.max() <= 1.0
    assert bundle.info.online_only


def test_cifar_parser_reads_channels_first_and_rejects_bad_records():
    record = bytes([7]) + bytes([10] * 1024 + [20] * 1024 + [30] * 1024)
    images, labels = downloads.parse_cifar_batch(record * 2, "b")
    assert labels.tolist() == [7, 7] and images.shape == (2, 3, 32, 32)
    assert images[0, :, 5, 5].tolist() == [10, 20, 30]
    with pytest.raises(DatasetError, match="not a whole number of 3073-byte"):
        downloads.parse_cifar_batch(record[:-1], "b")
    with pytest.raises(DatasetError, match="label 12"):
        downloads.parse_cifar_batch(bytes([12]) + record[1:], "b")


def test_an_unwritable_cache_says_where_to_point_it(tmp_path, monkeypatch):
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv(downloads.CACHE_ENV, str(blocker / "cache"))
    data = b"bytes"
    serve(monkeypatch, {remote("x.gz", data).url: data})
    with pytest.raises(DatasetError, match="Could not save x.gz.*LAYERLOOM_DATA_DIR"):
        downloads.fetch(remote("x.gz", data), "mnist")


def test_a_damaged_cached_archive_says_to_delete_it(tmp_path):
    damaged = tmp_path / "train-images-idx3-ubyte.gz"
    damaged.write_bytes(b"\x1f\x8b not really gzip")
    with pytest.raises(DatasetError, match="is damaged.*delete it"):
        downloads.read_idx(damaged)


def test_a_cifar_archive_missing_a_batch_names_it(tmp_path):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz"):
        pass  # an empty archive
    path = tmp_path / "cifar-10-binary.tar.gz"
    path.write_bytes(buffer.getvalue())
    with pytest.raises(DatasetError, match="has no cifar-10-batches-bin/data_batch_1.bin"):
        downloads.read_cifar_archive(path)
    path.write_bytes(b"garbage")
    with pytest.raises(DatasetError, match="is damaged"):
        downloads.read_cifar_archive(path)


def test_files_a_teacher_put_in_the_data_folder_are_used_offline(tmp_path, monkeypatch):
    """README's "Offline copies": the publisher's files, under their own names, in
    $LAYERLOOM_DATA_DIR/<dataset>/; with LAYERLOOM_OFFLINE=1 nothing is downloaded."""
    rng = np.random.default_rng(3)
    arrays = (rng.integers(0, 256, (200, 28, 28)), np.arange(200) % 10,
              rng.integers(0, 256, (100, 28, 28)), np.arange(100) % 10)
    folder = tmp_path / "teacher"
    (folder / "fashion_mnist").mkdir(parents=True)
    files = []
    for original, array in zip(downloads.FASHION_FILES, arrays):
        data = gzip.compress(idx_bytes(array))
        (folder / "fashion_mnist" / original.filename).write_bytes(data)  # train-images-idx3-ubyte.gz, ...
        files.append(RemoteFile(original.url, hashlib.sha256(data).hexdigest(), len(data)))
    from trainers.datasets import catalog
    from trainers.datasets.bundle import DatasetEntry
    entry = catalog._REGISTRY["fashion_mnist"]  # the real files' sizes, swapped for these
    monkeypatch.setitem(catalog._REGISTRY, "fashion_mnist", DatasetEntry(
        entry.info, downloads._make_idx_set(tuple(files), downloads.FASHION_CLASSES, "fashion_mnist")))
    monkeypatch.setenv(downloads.CACHE_ENV, str(folder))
    monkeypatch.setenv(downloads.OFFLINE_ENV, "1")
    asked = serve(monkeypatch, {})
    bundle = load_dataset("fashion_mnist", n_train=150, n_test=100)
    assert asked == [] and bundle.class_names[9] == "ankle boot"
    assert len(bundle.x_test) == 100 and bundle.info.input_shape == (1, 28, 28)

    (folder / "fashion_mnist" / files[0].filename).write_bytes(b"cut short")
    with pytest.raises(DatasetError, match="train-images-idx3-ubyte.gz has 9 bytes.*replace it"):
        load_dataset("fashion_mnist", n_train=150, n_test=100)


def test_mnist_and_fashion_keep_their_same_named_files_apart(monkeypatch):
    mnist, fashion = b"mnist labels", b"fashion labels!"
    asked = serve(monkeypatch, {"https://a.test/labels.gz": mnist, "https://b.test/labels.gz": fashion})
    for url, data, dataset in (("https://a.test/labels.gz", mnist, "mnist"),
                               ("https://b.test/labels.gz", fashion, "fashion_mnist")):
        file = RemoteFile(url, hashlib.sha256(data).hexdigest(), len(data))
        assert downloads.fetch(file, dataset).read_bytes() == data
    assert len(asked) == 2
