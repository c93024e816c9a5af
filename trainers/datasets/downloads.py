"""MNIST, Fashion-MNIST and CIFAR-10, downloaded on request into a cache folder.

No torchvision: the files are the publishers' own formats, parsed here with numpy. IDX files for
the MNIST pair and the *binary* CIFAR-10 archive (never the pickled "python version": unpickling a
downloaded file could run code). Every file is checked against its SHA-256 before it is kept.
Nothing here touches the network unless one of these sets is asked for by name.
"""
import gzip
import hashlib
import os
import struct
import tarfile
import tempfile
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from builder import ParamSpec
from trainers.datasets.bundle import DatasetEntry, DatasetInfo, Samples
from trainers.datasets.errors import DatasetError

CACHE_ENV = "LAYERLOOM_DATA_DIR"  # downloads go to <it>/<dataset>/; default ~/.cache/layerloom/datasets
OFFLINE_ENV = "LAYERLOOM_OFFLINE"  # "1": never try the network (a classroom without internet)
TIMEOUT_S = 30
CHUNK = 1 << 20
OFFLINE_SETS = "digits, shapes, moons, sequences, sentiment"


@dataclass(frozen=True)
class RemoteFile:
    url: str
    sha256: str
    size: int

    @property
    def filename(self) -> str:
        return self.url.rsplit("/", 1)[-1]


def _idx_files(base: str, sums: tuple[str, str, str, str], sizes: tuple[int, int, int, int]):
    names = ("train-images-idx3-ubyte.gz", "train-labels-idx1-ubyte.gz",
             "t10k-images-idx3-ubyte.gz", "t10k-labels-idx1-ubyte.gz")
    return tuple(RemoteFile(base + name, digest, size) for name, digest, size in zip(names, sums, sizes))


MNIST_FILES = _idx_files(
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
    ("440fcabf73cc546fa21475e81ea370265605f56be210a4024d2ca8f203523609",
     "3552534a0a558bbed6aed32b30c495cca23d567ec52cac8be1a0730e8010255c",
     "8d422c7b0a1c1c79245a5bcf07fe86e33eeafee792b84584aec276f5a2dbc4e6",
     "f7ae60f92e00ec6debd23a6088c31dbd2371eca3ffa0defaefb259924204aec6"),
    (9912422, 28881, 1648877, 4542))
FASHION_FILES = _idx_files(
    "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",
    ("3aede38d61863908ad78613f6a32ed271626dd12800ba2636569512369268a84",
     "a04f17134ac03560a47e3764e11b92fc97de4d1bfaf8ba1a3aa29af54cc90845",
     "346e55b948d973a97e58d2351dde16a484bd415d4595297633bb08f03db6a073",
     "67da17c76eaffca5446c3361aaab5c3cd6d1c2608764d35dfb1850b086bf8dd5"),
    (26421880, 29515, 4422102, 5148))
CIFAR10_FILE = RemoteFile("https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
                          "c4a38c50a1bc5f3a1c5537f2155ab9d68f9f25eb1ed8d9ddda3db29a59bca1dd",
                          170052171)
FASHION_CLASSES = ["T-shirt/top", "trouser", "pullover", "dress", "coat", "sandal", "shirt",
                   "sneaker", "bag", "ankle boot"]


def cache_dir() -> Path:
    return Path(os.environ.get(CACHE_ENV) or Path.home() / ".cache" / "layerloom" / "datasets")


def _open_url(url: str):
    """The response stream for `url` (tests replace this to simulate being offline)."""
    return urllib.request.urlopen(url, timeout=TIMEOUT_S)  # noqa: S310 - fixed https/http URLs


def fetch(remote: RemoteFile, dataset: str) -> Path:
    """The cached file, downloading it first if needed; only a file whose SHA-256 matches is kept."""
    # One folder per set: MNIST and Fashion-MNIST publish files under the same names.
    path = cache_dir() / dataset / remote.filename
    legacy = cache_dir() / remote.filename  # where earlier versions kept them, all in one folder
    if not path.exists() and legacy.exists() and legacy.stat().st_size == remote.size:
        return legacy
    if path.exists():  # written here after its checksum matched, or put there by a teacher
        size = path.stat().st_size
        if size != remote.size:  # a copy cut short, or another file under the same name
            raise DatasetError(f"{path} has {size:,} bytes, but {remote.filename} from "
                               f"{remote.url} has {remote.size:,}; replace it with that file "
                               "(or delete it to download it again).")
        return path
    needs_internet = (f"'{dataset}' needs internet to download {remote.filename} the first time; "
                      f"use the offline sets instead ({OFFLINE_SETS})")
    if os.environ.get(OFFLINE_ENV) == "1":
        raise DatasetError(f"{needs_internet}. (This server is set to offline: {OFFLINE_ENV}=1.)")
    cannot_save = f"Could not save {remote.filename} in {path.parent}; point {CACHE_ENV} at a " \
                  "writable folder"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        # A private partial file: two sessions may fetch the same set at once, even in one process.
        handle, partial = tempfile.mkstemp(dir=path.parent, prefix=path.name, suffix=".part")
    except OSError as error:
        raise DatasetError(f"{cannot_save} ({error}).") from None
    try:
        with _open_url(remote.url) as response, os.fdopen(handle, "wb") as out:
            digest = _copy_counting(response, out, remote)
        if digest != remote.sha256:
            raise DatasetError(f"{remote.filename} from {remote.url} failed its checksum (SHA-256 "
                               f"{digest[:12]}..., expected {remote.sha256[:12]}...); the download "
                               "was damaged or the file changed. It was not kept.")
        os.replace(partial, path)
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        raise DatasetError(f"{needs_internet}. (Could not download: {error})") from None
    except OSError as error:  # the network worked, the disk did not
        raise DatasetError(f"{cannot_save} ({error}).") from None
    finally:
        Path(partial).unlink(missing_ok=True)
    return path


def _copy_counting(response, out, remote: RemoteFile) -> str:
    """Copy the response into `out` chunk by chunk; returns the SHA-256 hex digest."""
    digest, received = hashlib.sha256(), 0
    while chunk := response.read(CHUNK):
        received += len(chunk)
        if received > remote.size:  # a wrong or hostile server must not fill the disk
            raise DatasetError(f"{remote.url} sent more than the expected {remote.size} bytes")
        digest.update(chunk)
        out.write(chunk)
    return digest.hexdigest()


IDX_DTYPES = {0x08: np.uint8, 0x09: np.int8, 0x0B: ">i2", 0x0C: ">i4", 0x0D: ">f4", 0x0E: ">f8"}


def parse_idx(data: bytes, what: str) -> np.ndarray:
    """An IDX file (magic 0 0 type ndim, big-endian uint32 dims, then the values) as an array."""
    if len(data) < 4 or data[:2] != b"\0\0" or data[2] not in IDX_DTYPES:
        raise DatasetError(f"{what} is not an IDX file (its first 4 bytes are {data[:4].hex()})")
    ndim = data[3]
    header = 4 + 4 * ndim
    if len(data) < header:
        raise DatasetError(f"{what} ends inside its header ({len(data)} bytes)")
    dims = struct.unpack(f">{ndim}I", data[4:header])
    dtype = np.dtype(IDX_DTYPES[data[2]])
    expected = int(np.prod(dims)) * dtype.itemsize
    if len(data) - header != expected:
        raise DatasetError(f"{what}: shape {list(dims)} needs {expected} bytes of values, "
                           f"the file has {len(data) - header}")
    return np.frombuffer(data, dtype, offset=header).reshape(dims)


def read_idx(path: Path) -> np.ndarray:
    data = path.read_bytes()
    try:
        data = gzip.decompress(data) if path.suffix == ".gz" else data
    except (OSError, EOFError) as error:
        raise _damaged(path, error) from None
    return parse_idx(data, path.name)


CIFAR_RECORD = 1 + 3 * 32 * 32  # one label byte, then 1024 red, 1024 green, 1024 blue bytes


def parse_cifar_batch(data: bytes, what: str) -> tuple[np.ndarray, np.ndarray]:
    """One CIFAR-10 binary batch -> (uint8 images [N, 3, 32, 32], int64 labels [N])."""
    if not data or len(data) % CIFAR_RECORD:
        raise DatasetError(f"{what}: {len(data)} bytes is not a whole number of "
                           f"{CIFAR_RECORD}-byte CIFAR-10 records")
    records = np.frombuffer(data, np.uint8).reshape(-1, CIFAR_RECORD)  # [N, 3073]
    labels = records[:, 0].astype(np.int64)
    if labels.max() > 9:
        raise DatasetError(f"{what}: record {int(np.argmax(labels > 9))} has label "
                           f"{labels.max()}, CIFAR-10 labels are 0-9")
    return records[:, 1:].reshape(-1, 3, 32, 32), labels  # [N, 3072] -> [N, C, H, W]


CIFAR_MEMBERS = (*(f"data_batch_{i}.bin" for i in range(1, 6)), "test_batch.bin",
                 "batches.meta.txt")


def read_cifar_archive(path: Path):
    """(train images, train labels, test images, test labels, class names) from the binary tar.gz.
    Members are read in memory: nothing is extracted to disk, so archive paths cannot escape."""
    try:
        with tarfile.open(path, "r:gz") as archive:
            members = {name: _member(archive, path, name) for name in CIFAR_MEMBERS}
    except (tarfile.TarError, OSError, EOFError) as error:
        raise _damaged(path, error) from None
    train = [parse_cifar_batch(members[f"data_batch_{i}.bin"], f"data_batch_{i}.bin")
             for i in range(1, 6)]
    test_x, test_y = parse_cifar_batch(members["test_batch.bin"], "test_batch.bin")
    names = members["batches.meta.txt"].decode("ascii", errors="replace").split()
    return (np.concatenate([x for x, _ in train]), np.concatenate([y for _, y in train]),
            test_x, test_y, names)


def _member(archive: tarfile.TarFile, path: Path, name: str) -> bytes:
    try:
        return archive.extractfile(f"cifar-10-batches-bin/{name}").read()
    except (KeyError, AttributeError):  # missing, or not a regular file
        raise DatasetError(f"{path.name} has no cifar-10-batches-bin/{name}") from None


def _damaged(path: Path, error: Exception) -> DatasetError:
    return DatasetError(f"{path} is damaged ({error}); delete it to download it again")


def _subset(rng: np.random.Generator, x: np.ndarray, y: np.ndarray, n: int):
    rows = np.sort(rng.permutation(len(y))[:n])
    return (x[rows].astype(np.float32) / 255.0), y[rows].astype(np.int64)  # bytes -> [0, 1]


def _image_samples(train_x, train_y, test_x, test_y, names, *, seed: int, n_train: int,
                   n_test: int) -> Samples:
    rng = np.random.default_rng(seed)
    x, y = _subset(rng, train_x, train_y, n_train)
    return Samples(x, y, class_names=names, fixed_test=_subset(rng, test_x, test_y, n_test))


def _make_idx_set(files: tuple[RemoteFile, ...], names: list[str], dataset: str):
    def make(*, seed: int, n_train: int, n_test: int) -> Samples:
        train_x, train_y, test_x, test_y = (read_idx(fetch(f, dataset)) for f in files)
        return _image_samples(train_x[:, None], train_y, test_x[:, None], test_y, names,  # add C=1
                              seed=seed, n_train=n_train, n_test=n_test)
    return make


def make_cifar10(*, seed: int, n_train: int, n_test: int) -> Samples:
    *arrays, names = read_cifar_archive(fetch(CIFAR10_FILE, "cifar10"))
    return _image_samples(*arrays, names, seed=seed, n_train=n_train, n_test=n_test)


def _info(name: str, title: str, shape: tuple[int, ...], description: str, n_train: int,
          max_train: int, n_test: int) -> DatasetInfo:
    return DatasetInfo(name, title, "classification", shape, "float", 10, (), description,
                       online_only=True, options=(
                           ParamSpec("n_train", "int", n_train, min=100, max=max_train,
                                      doc="Training images to keep (fewer: faster, less memory)."),
                           ParamSpec("n_test", "int", n_test, min=100, max=10000,
                                      doc="Test images to keep.")))


ENTRIES = (
    DatasetEntry(_info("mnist", "MNIST digits (download)", (1, 28, 28),
                       "70,000 handwritten digits, 28x28 (downloads 11 MB once).", 20000, 60000, 10000),
                 _make_idx_set(MNIST_FILES, [str(d) for d in range(10)], "mnist")),
    DatasetEntry(_info("fashion_mnist", "Fashion-MNIST (download)", (1, 28, 28),
                       "70,000 clothing photos in 10 kinds, 28x28 (downloads 30 MB once).",
                       20000, 60000, 10000),
                 _make_idx_set(FASHION_FILES, FASHION_CLASSES, "fashion_mnist")),
    DatasetEntry(_info("cifar10", "CIFAR-10 (download)", (3, 32, 32),
                       "60,000 small colour photos: planes, cars, birds, cats... "
                       "(downloads 163 MB once).",
                       10000, 50000, 5000),
                 make_cifar10),
)
