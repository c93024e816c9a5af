"""People's own data saved on the server, loaded by name like a catalog set.

A run's RunSpec names the file it trains on, `RunSpec(dataset="image_folder",
dataset_options={"path": ..., "size": 32})`, so a worker process loads exactly what the page
previewed. Each kind checks its options against its ParamSpecs, as the catalog does.
"""
from collections.abc import Callable

from builder import ParamSpec
from builder.params import coerce
from trainers.datasets import image_folder
from trainers.datasets.bundle import DatasetBundle
from trainers.datasets.errors import DatasetError

# name -> (its ParamSpecs besides "path", loader(path, seed=..., **options))
LOADERS: dict[str, tuple[tuple[ParamSpec, ...], Callable[..., DatasetBundle]]] = {
    image_folder.NAME: (image_folder.OPTIONS, image_folder.load_image_zip),
}


def load_upload(name: str, seed: int, options: dict) -> DatasetBundle:
    specs, loader = LOADERS[name]
    known = {"path"} | {spec.name for spec in specs}
    unknown = sorted(set(options) - known)
    if unknown:
        raise DatasetError(f"dataset '{name}' has no option '{unknown[0]}' (its options: "
                           f"{', '.join(sorted(known))})", option=unknown[0])
    if "path" not in options:
        raise DatasetError(f"dataset '{name}' needs the option 'path' (the saved upload)",
                           option="path")
    values = {}
    for spec in specs:
        try:
            values[spec.name] = coerce(spec, options.get(spec.name, spec.default))
        except ValueError as error:
            raise DatasetError(f"dataset '{name}', option {error}", option=spec.name) from None
    return loader(options["path"], seed=seed, **values)
