"""Offline image sets: scikit-learn's 8x8 digits, procedurally drawn shapes, and the same shapes
in colour on lit backgrounds (a stand-in for webcam photos).

Pixels are float32 in [0, 1] with shape [C, H, W], so Sigmoid reconstructions fit.
"""
import numpy as np
from sklearn.datasets import load_digits

from builder import ParamSpec
from trainers.datasets.bundle import DatasetEntry, DatasetInfo, Samples


def make_digits(*, seed: int) -> Samples:
    """The 1,797 scans as they ship inside scikit-learn (no download); `seed` only moves the split."""
    digits = load_digits()
    x = (digits.images / 16.0).astype(np.float32)[:, None]  # [1797, 8, 8] in 0..16 -> [1797, 1, 8, 8]
    return Samples(x, digits.target.astype(np.int64), class_names=[str(d) for d in range(10)])


# Each shape is a test on coordinates (u, v) relative to the shape's centre in units of its
# half-size, so a shape spans roughly [-1, 1] in both directions whatever its size.
BAR = 0.28  # half-thickness of strokes (bars, cross, X)
SHAPES = {
    "circle": lambda u, v: u**2 + v**2 <= 1.0,
    "square": lambda u, v: np.maximum(abs(u), abs(v)) <= 0.8,
    "triangle": lambda u, v: (abs(u) <= 0.55 * (v + 1.0)) & (v <= 0.85),
    "cross": lambda u, v: ((abs(u) <= BAR) | (abs(v) <= BAR)) & (np.maximum(abs(u), abs(v)) <= 1.0),
    "ring": lambda u, v: (u**2 + v**2 <= 1.0) & (u**2 + v**2 >= 0.55**2),
    "diamond": lambda u, v: abs(u) + abs(v) <= 1.0,
    "horizontal bar": lambda u, v: (abs(v) <= BAR) & (abs(u) <= 1.0),
    "vertical bar": lambda u, v: (abs(u) <= BAR) & (abs(v) <= 1.0),
    "x": lambda u, v: (abs(abs(u) - abs(v)) <= BAR * 1.4) & (np.maximum(abs(u), abs(v)) <= 0.9),
    "hollow square": lambda u, v: abs(np.maximum(abs(u), abs(v)) - 0.75) <= 0.15,
}
SHAPE_NAMES = list(SHAPES)


def draw_shapes(labels: np.ndarray, size: int, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Images [N, 1, size, size] of the shapes named by `labels`, at random places and sizes."""
    n = len(labels)
    half = rng.uniform(0.22, 0.4, n) * size  # half-size in pixels
    # Centres keep the whole shape inside the image.
    cx = rng.uniform(half - 0.5, size - 0.5 - half)
    cy = rng.uniform(half - 0.5, size - 0.5 - half)
    grid = np.arange(size, dtype=np.float32)
    u = (grid[None, None, :] - cx[:, None, None]) / half[:, None, None]  # [N, 1, size]
    v = (grid[None, :, None] - cy[:, None, None]) / half[:, None, None]  # [N, size, 1]
    ink = np.zeros((n, size, size), dtype=np.float32)
    for label, inside in enumerate(SHAPES.values()):
        rows = np.flatnonzero(labels == label)
        ink[rows] = inside(u[rows], v[rows])  # broadcasts [k, 1, size] with [k, size, 1]
    brightness = rng.uniform(0.6, 1.0, (n, 1, 1)).astype(np.float32)
    pixels = ink * brightness + noise * rng.standard_normal(ink.shape, dtype=np.float32)
    return np.clip(pixels, 0.0, 1.0)[:, None]  # [N, size, size] -> [N, 1, size, size]


def make_shapes(*, seed: int, n_samples: int, size: int, noise: float, classes: int) -> Samples:
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % classes)  # balanced: counts differ by at most 1
    return Samples(draw_shapes(labels, size, noise, rng), labels.astype(np.int64),
                   class_names=SHAPE_NAMES[:classes])


def make_colour_shapes(*, seed: int, n_samples: int, size: int, noise: float,
                       classes: int) -> Samples:
    """RGB images [N, 3, size, size]: a shape in one colour on a background of another, lit
    unevenly, so only the shape tells the classes apart (as an object held up to a webcam)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % classes)
    mask = draw_shapes(labels, size, 0.0, rng) > 0  # [N, 1, size, size]
    background = rng.uniform(0.0, 1.0, (n_samples, 3, 1, 1)).astype(np.float32)
    # Every channel at least 0.35 away from the background's (wrapping round), so the shape shows.
    ink = (background + rng.uniform(0.35, 0.65, (n_samples, 3, 1, 1))) % 1.0
    pixels = np.where(mask, ink, background)  # [N, 3, size, size]
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)
    slope = rng.uniform(-0.25, 0.25, (n_samples, 2, 1, 1)).astype(np.float32)
    light = 1.0 + slope[:, :1] * ramp[None, None, :, None] + slope[:, 1:] * ramp  # [N, 1, size, size]
    pixels = pixels * light + noise * rng.standard_normal(pixels.shape, dtype=np.float32)
    return Samples(np.clip(pixels, 0.0, 1.0).astype(np.float32), labels.astype(np.int64),
                   class_names=SHAPE_NAMES[:classes])


ENTRIES = (
    DatasetEntry(DatasetInfo(
        "digits", "Handwritten digits (8x8)", "classification", (1, 8, 8), "float", 10, (),
        "1,797 tiny scans of handwritten digits 0-9, 8x8 pixels."), make_digits),
    DatasetEntry(DatasetInfo(
        "shapes", "Shapes", "classification", (1, 28, 28), "float", 10, (),
        "Drawn shapes (circle, square, triangle, ...) at random places and sizes, with noise.",
        options=(
            ParamSpec("n_samples", "int", 3000, min=100, max=20000, doc="How many images."),
            ParamSpec("size", "int", 28, min=12, max=64, doc="Image width and height in pixels."),
            ParamSpec("noise", "float", 0.1, min=0.0, max=0.5, doc="Pixel noise (std)."),
            ParamSpec("classes", "int", 10, min=2, max=10, doc="How many different shapes."),
        )), make_shapes),
    DatasetEntry(DatasetInfo(
        "colour_shapes", "Coloured shapes (32x32 RGB, like webcam photos)", "classification",
        (3, 32, 32), "float", 3, (),
        "Shapes in random colours on unevenly lit backgrounds of other colours, with noise.",
        options=(
            ParamSpec("n_samples", "int", 300, min=60, max=5000, doc="How many images."),
            ParamSpec("size", "int", 32, min=16, max=64, doc="Image width and height in pixels."),
            ParamSpec("noise", "float", 0.05, min=0.0, max=0.5, doc="Pixel noise (std)."),
            ParamSpec("classes", "int", 3, min=2, max=10, doc="How many different shapes."),
        )), make_colour_shapes),
)
