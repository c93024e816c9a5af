"""People's own data saved on the server, loaded by name like a catalog set.

A run's RunSpec names the file it trains on, `RunSpec(dataset="image_folder",
dataset_options={"path": ..., "size": 32})`, so a worker process loads exactly what the page
previewed. Each kind checks its options against its ParamSpecs, as the catalog does.
"""
from collections.abc import Callable
from dataclasses import dataclass

from builder import ParamSpec
from builder.params import coerce
from trainers.datasets import image_folder, points, text_table
from trainers.datasets.bundle import DatasetBundle
from trainers.datasets.errors import DatasetError


@dataclass(frozen=True)
class UploadKind:
    specs: tuple[ParamSpec, ...]  # options with defaults, checked like a catalog set's
    required: tuple[str, ...]  # plain text options without a default ("path" first)
    load: Callable[..., DatasetBundle]  # load(path, seed=..., **options)


LOADERS: dict[str, UploadKind] = {
    image_folder.NAME: UploadKind(image_folder.OPTIONS, ("path",), image_folder.load_image_zip),
    text_table.NAME: UploadKind(text_table.OPTIONS, ("path", "text", "label"),
                                text_table.load_text_csv),
    points.NAME: UploadKind(points.OPTIONS, ("path",), points.load_points),
}


def load_upload(name: str, seed: int, options: dict) -> DatasetBundle:
    kind = LOADERS[name]
    known = set(kind.required) | {spec.name for spec in kind.specs}
    unknown = sorted(set(options) - known)
    if unknown:
        raise DatasetError(f"dataset '{name}' has no option '{unknown[0]}' (its options: "
                           f"{', '.join(sorted(known))})", option=unknown[0])
    for option in kind.required:
        if not isinstance(options.get(option), str):
            raise DatasetError(f"dataset '{name}' needs the option '{option}' as text",
                               option=option)
    values = {option: options[option] for option in kind.required[1:]}
    for spec in kind.specs:
        try:
            values[spec.name] = coerce(spec, options.get(spec.name, spec.default))
        except ValueError as error:
            raise DatasetError(f"dataset '{name}', option {error}", option=spec.name) from None
    return kind.load(options["path"], seed=seed, **values)
