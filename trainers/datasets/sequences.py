"""Offline sequence sets: sine-wave forecasting (regression) and moving-bump sequences (classes)."""
import numpy as np

from builder import ParamSpec
from trainers.datasets.bundle import DatasetEntry, DatasetInfo, Samples

SEQUENCE_STEPS = 20
SEQUENCE_FEATURES = 100
SPEEDS = 5  # classes = 5 speeds x 2 directions
_OFFSETS = np.arange(SEQUENCE_FEATURES)
_WRAPPED_DISTANCE = np.minimum(_OFFSETS, SEQUENCE_FEATURES - _OFFSETS)  # features wrap around
BUMP_AT_OFFSET = np.exp(-0.5 * (_WRAPPED_DISTANCE / 2.0) ** 2).astype(np.float32)  # width 2


def make_sine(*, seed: int, n_samples: int, window: int, noise: float) -> Samples:
    """Each sample is its own sine wave: `window` noisy steps in, the next clean value out."""
    rng = np.random.default_rng(seed)
    frequency = rng.uniform(0.15, 0.6, (n_samples, 1))  # radians per step
    phase = rng.uniform(0.0, 2 * np.pi, (n_samples, 1))
    amplitude = rng.uniform(0.5, 1.0, (n_samples, 1))
    clean = amplitude * np.sin(frequency * np.arange(window + 1) + phase)  # [N, window + 1]
    seen = clean[:, :window] + rng.normal(0.0, noise, (n_samples, window))
    x = seen[:, :, None].astype(np.float32)  # [N, window] -> [N, window, 1]: one feature per step
    y = clean[:, window:].astype(np.float32)  # [N, 1]: the value right after the window
    return Samples(x, y)


def make_sequences(*, seed: int, n_samples: int, noise: float) -> Samples:
    """A bump of activity travels across 100 features over 20 steps; the class is its speed and
    direction. It starts anywhere, so no single step gives the class away: a model has to follow
    the motion through time (what an LSTM is for)."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % (2 * SPEEDS))  # balanced
    velocity = np.where(labels < SPEEDS, 1, -1) * (labels % SPEEDS + 1)  # features per step
    start = rng.integers(0, SEQUENCE_FEATURES, n_samples)
    centre = start[:, None] + velocity[:, None] * np.arange(SEQUENCE_STEPS)  # [N, steps]
    offset = (np.arange(SEQUENCE_FEATURES) - centre[:, :, None]) % SEQUENCE_FEATURES  # [N, steps, F]
    x = BUMP_AT_OFFSET[offset] + noise * rng.standard_normal(offset.shape, dtype=np.float32)
    names = [f"{'forward' if k < SPEEDS else 'backward'} at speed {k % SPEEDS + 1}"
             for k in range(2 * SPEEDS)]
    return Samples(x, labels.astype(np.int64), class_names=names)


def make_memory(*, seed: int, n_samples: int, gap: int, noise: float) -> Samples:
    """A blip of +1 or -1 at the first step (the class), then `gap` steps of noise: to answer at
    the last step a model has to carry the blip through the whole gap, the long-range memory a
    plain RNN loses (its gradient fades step by step) and an LSTM's cell keeps."""
    rng = np.random.default_rng(seed)
    labels = rng.permutation(np.arange(n_samples) % 2)  # balanced
    x = noise * rng.standard_normal((n_samples, gap + 1, 2), dtype=np.float32)  # [N, steps, 2]
    x[:, 0, 0] = np.where(labels == 1, 1.0, -1.0)  # feature 0 at step 0: the blip to remember
    x[:, 0, 1] = 1.0  # feature 1 at step 0: "this is the start"
    return Samples(x, labels.astype(np.int64), class_names=["blip down", "blip up"])


ENTRIES = (
    DatasetEntry(DatasetInfo(
        "sine", "Sine forecasting", "regression", (32, 1), "float", None, (1,),
        "Windows of a noisy sine wave: predict the value that comes next.",
        options=(
            ParamSpec("n_samples", "int", 2000, min=100, max=20000, doc="How many windows."),
            ParamSpec("window", "int", 32, min=4, max=256, doc="Past steps the model sees."),
            ParamSpec("noise", "float", 0.05, min=0.0, max=1.0, doc="Noise on those steps (std)."),
        )), make_sine),
    DatasetEntry(DatasetInfo(
        "sequences", "Moving bumps", "classification", (SEQUENCE_STEPS, SEQUENCE_FEATURES), "float",
        2 * SPEEDS, (), "20 steps of 100 signals with a bump moving through them: tell its speed "
        "and direction.",
        options=(
            ParamSpec("n_samples", "int", 2000, min=100, max=10000, doc="How many sequences."),
            ParamSpec("noise", "float", 0.3, min=0.0, max=2.0, doc="Added noise (std)."),
        )), make_sequences),
    DatasetEntry(DatasetInfo(
        "memory", "Long memory", "classification", (16, 2), "float", 2, (),
        "A blip at the first step, then noise: remember the blip's sign at the end.",
        options=(
            ParamSpec("n_samples", "int", 2000, min=100, max=10000, doc="How many sequences."),
            ParamSpec("gap", "int", 15, min=1, max=100, doc="Noisy steps after the blip."),
            ParamSpec("noise", "float", 0.5, min=0.0, max=2.0, doc="Noise on every step (std)."),
        )), make_memory),
)
