"""People's own images: a zip with one folder per class becomes an image dataset.

    cats/1.jpg, cats/2.png, dogs/a.jpg, ...   (or all of it inside one top folder)

Images are decoded by Pillow, restricted to plain raster formats (never EPS/PDF, which Pillow
hands to other programs), each one's pixel count checked before it is decoded. Every image is
converted to 1 or 3 channels (transparency over white, 16-bit scaled down), cropped to a centred
square (or stretched) and resized to `size` x `size`; pixels are float32 in [0, 1], shape
[C, size, size], like the built-in image sets. Split 70/15/15 stratified with the run's seed.
"""
from __future__ import annotations

import io
import zipfile
from collections import Counter
from pathlib import Path, PurePosixPath

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from builder import ParamSpec
from trainers.datasets.bundle import DatasetBundle, DatasetInfo, Samples, build_bundle
from trainers.datasets.errors import DatasetError
from trainers.datasets.safe_zip import Member, read_zip
from trainers.datasets.upload_limits import MB, UploadLimits, read_upload

NAME = "image_folder"
IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".gif", ".bmp", ".webp", ".tif", ".tiff")
PILLOW_FORMATS = ("PNG", "JPEG", "GIF", "BMP", "WEBP", "TIFF")
FITS = ("crop", "stretch")
MAX_CLASSES = 50
GRAY_WEIGHTS = np.array([0.299, 0.587, 0.114], dtype=np.float32)  # ITU-R 601, as Pillow's "L"
OPTIONS = (
    ParamSpec("size", "int", 32, min=8, max=128, doc="Width and height every image is resized to."),
    ParamSpec("channels", "choice", "auto", choices=("auto", "1", "3"),
              doc="1 = grayscale, 3 = colour; auto = colour when any image has colour."),
    ParamSpec("fit", "choice", "crop", choices=FITS,
              doc="crop: keep the centred square; stretch: squeeze the whole image."),
)


def load_image_zip(data: bytes | str | Path, *, size: int = 32, channels: str = "auto",
                   fit: str = "crop", seed: int = 0, limits: UploadLimits | None = None,
                   max_bytes: int | None = None) -> DatasetBundle:
    """The zip (its bytes or a path to it) as a classification bundle, one class per folder."""
    limits = limits or UploadLimits.from_env()
    data = read_upload(data, max_bytes)
    members, notes, folders = read_zip(data, limits, wanted=_is_image_name)
    classes = _classes(members, folders)
    total = sum(len(files) for files in classes.values())
    if total > limits.max_images:
        raise DatasetError(f"The zip holds {total:,} images; at most {limits.max_images:,} are read "
                           f"({UploadLimits.variable('max_images')}). Use fewer per class.")
    names = list(classes)
    decoded = [(label, member, _decode(member, limits))
               for label, name in enumerate(names) for member in classes[name]]
    all_gray = all(image.mode == "L" for *_, image in decoded)
    n_channels = 3 if channels == "3" else 1 if channels == "1" or all_gray else 3
    needed_mb = len(decoded) * n_channels * size * size * 4 / MB  # float32 pixels
    if needed_mb > limits.max_dataset_mb:
        raise DatasetError(f"{len(decoded):,} images of {n_channels}x{size}x{size} need "
                           f"{needed_mb:,.0f} MB; at most {limits.max_dataset_mb} MB "
                           f"({UploadLimits.variable('max_dataset_mb')}). Choose a smaller size.",
                           option="size")
    x = np.empty((len(decoded), n_channels, size, size), dtype=np.float32)
    for row, (_, _, image) in enumerate(decoded):
        x[row] = _pixels(image, size, fit, n_channels)
    if channels == "auto" and n_channels == 3 and _all_gray(x):
        x = np.ascontiguousarray(x[:, :1])  # colour files holding gray pictures: [N, 3, S, S] -> [N, 1, S, S]
    y = np.array([label for label, *_ in decoded], dtype=np.int64)
    notes += _size_notes([image.size for *_, image in decoded], size, fit)
    info = DatasetInfo(NAME, "Your images", "classification", x.shape[1:], "float", len(names), (),
                       f"{len(y):,} images in {len(names)} classes ({', '.join(names)}).",
                       options=OPTIONS)
    return build_bundle(info, Samples(x, y, class_names=names, notes=tuple(notes)), seed=seed)


def image_to_input(data: bytes, input_shape: tuple[int, int, int], *, fit: str = "crop",
                   name: str = "the photo", limits: UploadLimits | None = None) -> np.ndarray:
    """One image file as a model input [C, S, S] float32 in [0, 1], converted exactly as the
    dataset's images were (a live test with the camera sees what training saw)."""
    channels, size, _ = input_shape
    image = _decode(Member((name,), data), limits or UploadLimits.from_env())
    return _pixels(image, size, fit, channels)


def pack_classes(classes: dict[str, list[tuple[str, bytes]]]) -> bytes:
    """Images picked one by one (class name -> [(file name, bytes)]) as the zip this module reads,
    so uploads of either kind are saved and loaded the same way."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as archive:
        for class_name, files in classes.items():
            folder = _folder_name(class_name)
            for index, (file_name, data) in enumerate(files):
                # A fixed date: the same images make the same bytes, so the session keeps one file
                # (files are named by content) and the loaded dataset is reused across reruns.
                member = zipfile.ZipInfo(f"{folder}/{index:05d}_{PurePosixPath(file_name).name}",
                                         date_time=(1980, 1, 1, 0, 0, 0))
                archive.writestr(member, data)
    return out.getvalue()


def _folder_name(class_name: str) -> str:
    cleaned = class_name.strip().replace("/", "-").replace("\\", "-").lstrip(".")
    if not cleaned:
        raise DatasetError("Every class needs a name.")
    return cleaned


def _is_image_name(path: tuple[str, ...]) -> bool:
    return path[-1].lower().endswith(IMAGE_SUFFIXES)


def _classes(members: list[Member], folders: list[tuple[str, ...]]) -> dict[str, list[Member]]:
    """Class name -> its images, classes in alphabetical order. A single top folder holding the
    class folders (zipping the folder itself) is looked through."""
    root = _class_root(members, folders)
    loose = [m for m in members if len(m.path) == len(root) + 1]
    if loose:
        names = ", ".join("/".join(m.path) for m in loose[:3])
        raise DatasetError(f"Images must be inside one folder per class; {names} "
                           f"{'is' if len(loose) == 1 else 'are'} not in a class folder.")
    class_names = sorted(_children(folders, root), key=str.lower)
    classes = {name: [m for m in members if m.path[len(root)] == name] for name in class_names}
    empty = [name for name, files in classes.items() if not files]
    if empty:
        raise DatasetError(f"The class folder '{'/'.join((*root, empty[0]))}' has no images "
                           f"(.png, .jpg, .gif, .bmp, .webp, .tif); add some or remove the folder.")
    if len(classes) < 2:
        found = f"only '{class_names[0]}'" if class_names else "none"
        raise DatasetError(f"The zip needs at least 2 class folders, each with images; found {found}.")
    if len(classes) > MAX_CLASSES:
        raise DatasetError(f"The zip has {len(classes)} class folders; at most {MAX_CLASSES}.")
    return classes


def _class_root(members: list[Member], folders: list[tuple[str, ...]]) -> tuple[str, ...]:
    """The folder holding the class folders: the zip's top, or a lone folder holding folders."""
    root: tuple[str, ...] = ()
    while len(tops := _children(folders, root)) == 1 and not any(
            len(m.path) == len(root) + 1 for m in members):
        only = (*root, next(iter(tops)))
        if not _children(folders, only):
            break  # the lone folder is a class itself
        root = only
    return root


def _children(folders: list[tuple[str, ...]], parent: tuple[str, ...]) -> set[str]:
    return {path[len(parent)] for path in folders
            if len(path) > len(parent) and path[:len(parent)] == parent}


def _decode(member: Member, limits: UploadLimits) -> Image.Image:
    """The image, upright, in mode "L", "RGB" or "RGBA"; DatasetError naming the file otherwise."""
    name = "/".join(member.path)
    try:
        image = Image.open(io.BytesIO(member.data), formats=PILLOW_FORMATS)
        width, height = image.size  # from the header: nothing decoded yet
        if width * height > limits.max_image_pixels:
            raise DatasetError(f"'{name}' is {width}x{height} pixels; one image may have at most "
                               f"{limits.max_image_pixels:,} ({UploadLimits.variable('max_image_pixels')}).")
        image.load()
        return _normalise_mode(ImageOps.exif_transpose(image))
    except DatasetError:
        raise
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError, Image.DecompressionBombError,
            EOFError) as error:
        raise DatasetError(f"'{name}' could not be read as an image ({error}); re-save it as PNG or "
                           "JPEG, or remove it.") from None


def _normalise_mode(image: Image.Image) -> Image.Image:
    """Any Pillow mode as "L" (gray), "RGB" or "RGBA": 16/32-bit gray scaled to 8 bits,
    palettes and CMYK converted, transparency kept for compositing over white."""
    if image.mode in ("L", "RGB", "RGBA"):
        return image
    if image.mode.startswith("I") or image.mode == "F":  # I;16*, I (32-bit), F (float)
        values = np.asarray(image, dtype=np.float64)
        top = 65535.0 if image.mode.startswith("I;16") else max(float(values.max()), 1.0)
        scaled = np.clip(values / top, 0.0, 1.0) if image.mode != "F" else _stretch(values)
        return Image.fromarray((scaled * 255).round().astype(np.uint8), "L")
    if image.mode == "1":
        return image.convert("L")
    if image.mode in ("LA", "PA", "La", "RGBa") or "transparency" in image.info:
        return image.convert("RGBA")
    return image.convert("RGB")  # P, CMYK, YCbCr, LAB, HSV


def _stretch(values: np.ndarray) -> np.ndarray:
    low, high = float(values.min()), float(values.max())
    return (values - low) / (high - low) if high > low else np.zeros_like(values)


def _pixels(image: Image.Image, size: int, fit: str, channels: int) -> np.ndarray:
    """[channels, size, size] float32 in [0, 1]."""
    if image.mode == "RGBA":  # transparent parts become white, as an image viewer shows them
        background = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(background, image).convert("RGB")
    resample = Image.Resampling.BILINEAR
    image = (ImageOps.fit(image, (size, size), resample) if fit == "crop"
             else image.resize((size, size), resample))
    values = np.asarray(image, dtype=np.float32) / 255.0  # [S, S] or [S, S, 3]
    if values.ndim == 2:
        values = values[..., None]  # [S, S] -> [S, S, 1]
    if channels == 1 and values.shape[-1] == 3:
        values = (values @ GRAY_WEIGHTS)[..., None]  # [S, S, 3] -> [S, S, 1]
    elif channels == 3 and values.shape[-1] == 1:
        values = np.repeat(values, 3, axis=-1)  # [S, S, 1] -> [S, S, 3]
    return values.transpose(2, 0, 1)  # [S, S, C] -> [C, S, S]


def _all_gray(x: np.ndarray) -> bool:
    return bool(np.abs(x[:, 0] - x[:, 1]).max() < 1e-3 and np.abs(x[:, 0] - x[:, 2]).max() < 1e-3)


def _size_notes(sizes: list[tuple[int, int]], size: int, fit: str) -> list[str]:
    counts = Counter(sizes)
    how = "cropped to a centred square and resized" if fit == "crop" else "stretched"
    if len(counts) == 1:
        (width, height), = counts
        return [] if (width, height) == (size, size) else [
            f"Every image is {width}x{height}; each was {how} to {size}x{size}."]
    smallest, largest = min(sizes, key=lambda s: s[0] * s[1]), max(sizes, key=lambda s: s[0] * s[1])
    return [f"The images come in {len(counts)} sizes (from {smallest[0]}x{smallest[1]} to "
            f"{largest[0]}x{largest[1]}); each was {how} to {size}x{size}."]
