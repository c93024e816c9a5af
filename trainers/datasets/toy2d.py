"""2-D point sets in the spirit of TensorFlow Playground, for decision-boundary demos.

Every set is exactly class-balanced, float32 points of shape [2], roughly inside [-1.5, 1.5]^2.
"""
import numpy as np

from builder import ParamSpec
from trainers.datasets.bundle import DatasetEntry, DatasetInfo, Samples


def _size_option(default: int = 600) -> ParamSpec:
    return ParamSpec("n_samples", "int", default, min=40, max=5000, doc="How many points.")


def _noise_option(default: float) -> ParamSpec:
    return ParamSpec("noise", "float", default, min=0.0, max=1.0,
                     doc="Standard deviation of the random jitter added to every point.")


def _classes_option(default: int) -> ParamSpec:
    return ParamSpec("classes", "int", default, min=2, max=6, doc="How many classes.")


def _class_sizes(n_samples: int, classes: int) -> np.ndarray:
    """Split n as evenly as possible: [n // k + 1] * (n % k) + [n // k] * rest."""
    return np.full(classes, n_samples // classes) + (np.arange(classes) < n_samples % classes)


def _labels(sizes: np.ndarray) -> np.ndarray:
    return np.repeat(np.arange(len(sizes)), sizes)


def _jitter(points: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    return (points + rng.normal(0.0, noise, points.shape)).astype(np.float32)


def make_moons(*, seed: int, n_samples: int, noise: float) -> Samples:
    rng = np.random.default_rng(seed)
    y = _labels(_class_sizes(n_samples, 2))
    angle = rng.uniform(0.0, np.pi, n_samples)
    top = np.stack([np.cos(angle), np.sin(angle)], axis=1)
    bottom = np.stack([1.0 - np.cos(angle), 0.5 - np.sin(angle)], axis=1)
    points = np.where(y[:, None] == 0, top, bottom) - [0.5, 0.25]  # centre the pair on the origin
    return Samples(_jitter(points, noise, rng), y, class_names=["top moon", "bottom moon"])


def make_circles(*, seed: int, n_samples: int, noise: float) -> Samples:
    rng = np.random.default_rng(seed)
    y = _labels(_class_sizes(n_samples, 2))
    angle = rng.uniform(0.0, 2 * np.pi, n_samples)
    radius = np.where(y == 0, 1.0, 0.45)
    points = radius[:, None] * np.stack([np.cos(angle), np.sin(angle)], axis=1)
    return Samples(_jitter(points, noise, rng), y, class_names=["outer ring", "inner disc"])


def make_xor(*, seed: int, n_samples: int, noise: float) -> Samples:
    rng = np.random.default_rng(seed)
    # One quarter of the points per quadrant; label = do x and y have the same sign.
    quadrant = _labels(_class_sizes(n_samples, 4))
    signs = np.array([[1, 1], [-1, -1], [1, -1], [-1, 1]])[quadrant]
    points = signs * rng.uniform(0.05, 1.0, (n_samples, 2))  # a small gap keeps the axes clear
    y = (quadrant >= 2).astype(np.int64)
    return Samples(_jitter(points, noise, rng), y, class_names=["same sign", "opposite sign"])


def make_spiral(*, seed: int, n_samples: int, noise: float, classes: int) -> Samples:
    rng = np.random.default_rng(seed)
    y = _labels(_class_sizes(n_samples, classes))
    radius = rng.uniform(0.05, 1.0, n_samples)
    angle = 1.75 * 2 * np.pi * radius + 2 * np.pi * y / classes  # 1.75 turns, arms evenly apart
    points = 1.2 * radius[:, None] * np.stack([np.sin(angle), np.cos(angle)], axis=1)
    return Samples(_jitter(points, noise * 0.3, rng), y,  # arms are close: scale the jitter down
                   class_names=[f"arm {i + 1}" for i in range(classes)])


def make_blobs(*, seed: int, n_samples: int, noise: float, classes: int) -> Samples:
    rng = np.random.default_rng(seed)
    y = _labels(_class_sizes(n_samples, classes))
    centre_angle = 2 * np.pi * np.arange(classes) / classes  # centres evenly on the unit circle
    centres = np.stack([np.cos(centre_angle), np.sin(centre_angle)], axis=1)
    return Samples(_jitter(centres[y], noise, rng), y,
                   class_names=[f"blob {i + 1}" for i in range(classes)])


def _info(name: str, title: str, description: str, classes: int,
          *options: ParamSpec) -> DatasetInfo:
    return DatasetInfo(name, title, "classification", (2,), "float", classes, (), description,
                       options=(_size_option(), *options))


ENTRIES = (
    DatasetEntry(_info("moons", "Two moons", "Two interleaving half circles: a curved boundary "
                       "separates them.", 2, _noise_option(0.1)), make_moons),
    DatasetEntry(_info("circles", "Circles", "A ring around a disc: no straight line can split "
                       "them.", 2, _noise_option(0.1)), make_circles),
    DatasetEntry(_info("xor", "XOR", "Four corners, opposite corners share a class: needs a hidden "
                       "layer.", 2, _noise_option(0.1)), make_xor),
    DatasetEntry(_info("spiral", "Spiral", "Arms winding around the centre: the hardest 2-D set.", 2,
                       _noise_option(0.2), _classes_option(2)), make_spiral),
    DatasetEntry(_info("blobs", "Blobs", "Round clusters, one per class: the easiest 2-D set.", 3,
                       _noise_option(0.3), _classes_option(3)), make_blobs),
)
