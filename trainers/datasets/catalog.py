"""The dataset registry: every built-in set by name, and `load_dataset` to get one as tensors."""
from difflib import get_close_matches
from pathlib import Path

from builder import ParamSpec
from builder.params import coerce
from trainers.datasets import downloads, images, sequences, text, toy2d, uploads
from trainers.datasets.bundle import DatasetBundle, DatasetEntry, DatasetInfo, build_bundle
from trainers.datasets.errors import DatasetError
from trainers.datasets.tabular import load_csv

CSV_DATASET = "csv"  # not in the catalog list: the page offers its own upload choice

_REGISTRY: dict[str, DatasetEntry] = {
    entry.info.name: entry
    for module in (images, toy2d, sequences, text, downloads)
    for entry in module.ENTRIES
}


def list_datasets(*, include_online: bool = True) -> list[DatasetInfo]:
    """The catalog in display order; offline sets first (they always work)."""
    infos = [entry.info for entry in _REGISTRY.values()]
    return [info for info in infos if include_online or not info.online_only]


def dataset_info(name: str) -> DatasetInfo:
    return _entry(name).info


def _entry(name: str) -> DatasetEntry:
    if name not in _REGISTRY:
        guess = get_close_matches(name, list(_REGISTRY), n=1)
        hint = f" Did you mean '{guess[0]}'?" if guess else ""
        raise DatasetError(f"There is no dataset called '{name}'.{hint} "
                           f"Available: {', '.join(_REGISTRY)}.")
    return _REGISTRY[name]


def resolve_options(info: DatasetInfo, options: dict) -> dict:
    """Defaults filled in and every given value checked against its ParamSpec."""
    known = {spec.name for spec in info.options}
    unknown = sorted(set(options) - known)
    if unknown:
        allowed = ", ".join(sorted(known)) or "none"
        raise DatasetError(f"dataset '{info.name}' has no option '{unknown[0]}' "
                           f"(its options: {allowed})", option=unknown[0])
    return {spec.name: _checked(info, spec, options.get(spec.name, spec.default))
            for spec in info.options}


def _checked(info: DatasetInfo, spec: ParamSpec, value):
    try:
        return coerce(spec, value)
    except ValueError as error:
        raise DatasetError(f"dataset '{info.name}', option {error}", option=spec.name) from None


def load_dataset(name: str, *, seed: int = 0, **options) -> DatasetBundle:
    """The named dataset, split 70/15/15 with `seed`; the same seed and options give the same data.

    The bundle's info carries the real input shape and class count for the options given
    (for example `shapes` with size=32 gives input_shape (1, 32, 32)). The name "csv" loads an
    uploaded table saved on the server: options `path`, `target` and optionally `task`, so a run's
    plain RunSpec can name it like any other dataset.
    """
    if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
        raise DatasetError(f"seed must be a whole number >= 0, got {seed!r}", option="seed")
    if name == CSV_DATASET:
        return _load_saved_csv(seed, options)
    if name in uploads.LOADERS:  # people's own images, text, points (trainers.datasets.uploads)
        return uploads.load_upload(name, seed, options)
    entry = _entry(name)
    samples = entry.make(seed=seed, **resolve_options(entry.info, options))
    return build_bundle(entry.info, samples, seed=seed)


def _load_saved_csv(seed: int, options: dict) -> DatasetBundle:
    for key in ("path", "target"):
        if key not in options:
            raise DatasetError(f"dataset 'csv' needs the option '{key}' (the saved file and the "
                               "column to predict)", option=key)
    unknown = sorted(set(options) - {"path", "target", "task"})
    if unknown:
        raise DatasetError(f"dataset 'csv' has no option '{unknown[0]}' (its options: path, "
                           "target, task)", option=unknown[0])
    return load_csv(Path(options["path"]), options["target"], options.get("task", "auto"), seed=seed)
