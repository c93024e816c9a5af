"""People's own images: a zip of class folders, decoded with Pillow, with every hostile or broken
archive refused by a DatasetError that names the file. All files are made here, small."""
import io
import struct
import time
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image

from trainers.datasets import DatasetError, load_dataset
from trainers.datasets.image_folder import load_image_zip, pack_classes
from trainers.datasets.upload_limits import UploadLimits


def image_bytes(mode: str = "RGB", size=(12, 10), fmt: str = "PNG", value=None) -> bytes:
    if value is None:
        value = {"1": 1, "L": 200, "P": 3, "I;16": 40000, "I": 30000, "F": 0.5, "LA": (90, 255),
                 "RGBA": (255, 0, 0, 255), "CMYK": (0, 255, 255, 0)}.get(mode, (10, 200, 30))
    image = Image.new(mode, size, value)
    out = io.BytesIO()
    image.save(out, fmt)
    return out.getvalue()


def noise_png() -> bytes:
    """A PNG that does not compress away, so cutting it loses pixel data."""
    out = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (64, 64), np.uint8)).save(out, "PNG")
    return out.getvalue()


def make_zip(files: dict[str, bytes], *, links: dict[str, str] | None = None,
             compression=zipfile.ZIP_DEFLATED) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in files.items():
            archive.writestr(name, data)
        for name, target in (links or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = 0o120777 << 16  # a symbolic link, as `zip --symlinks` stores it
            archive.writestr(info, target)
    return out.getvalue()


def two_classes(n: int = 10, **extra: bytes) -> dict[str, bytes]:
    files = {f"cats/{i}.png": image_bytes("RGB", value=(250, 20 * i, 10)) for i in range(n)}
    files |= {f"dogs/{i}.jpg": image_bytes("RGB", fmt="JPEG", value=(10, 20 * i, 250))
              for i in range(n)}
    return files | extra


def test_class_folders_become_a_split_colour_dataset_with_a_fixed_seed(tmp_path):
    path = tmp_path / "pets.zip"
    path.write_bytes(make_zip(two_classes()))
    bundle = load_dataset("image_folder", path=str(path), size=16)
    assert bundle.class_names == ["cats", "dogs"]
    assert bundle.info.input_shape == (3, 16, 16) and bundle.info.num_classes == 2
    assert bundle.x_train.dtype == torch.float32 and bundle.y_train.dtype == torch.int64
    assert len(bundle.x_train) + len(bundle.x_val) + len(bundle.x_test) == 20
    assert len(bundle.x_val) and len(bundle.x_test)
    assert 0.0 <= bundle.x_train.min() and bundle.x_train.max() <= 1.0
    cats = bundle.x_train[bundle.y_train == 0]
    assert (cats[:, 0] > 0.9).all()  # red stays red: channels are in RGB order
    again = load_dataset("image_folder", path=str(path), size=16)
    assert torch.equal(bundle.x_test, again.x_test) and torch.equal(bundle.y_train, again.y_train)
    other = load_dataset("image_folder", path=str(path), size=16, seed=1)
    assert not torch.equal(bundle.y_train, other.y_train)
    assert any("12x10" in note and "16x16" in note for note in bundle.notes)


@pytest.mark.parametrize("mode,fmt", [("1", "PNG"), ("L", "PNG"), ("LA", "PNG"), ("P", "PNG"),
                                      ("RGB", "JPEG"), ("RGBA", "PNG"), ("I;16", "PNG"),
                                      ("I", "TIFF"), ("F", "TIFF"), ("CMYK", "JPEG"),
                                      ("CMYK", "TIFF"), ("RGB", "BMP"), ("P", "GIF"),
                                      ("RGB", "WEBP")])
def test_every_mode_is_converted_to_pixels_in_0_1(mode, fmt):
    files = {f"a/{i}.{fmt.lower()}": image_bytes(mode, (7 + i, 30), fmt) for i in range(5)}
    files |= {f"b/{i}.png": image_bytes("L", (30, 7 + i)) for i in range(5)}
    for channels, expected in (("1", 1), ("3", 3)):
        bundle = load_image_zip(make_zip(files), size=8, channels=channels)
        assert bundle.info.input_shape == (expected, 8, 8)
        everything = torch.cat([bundle.x_train, bundle.x_val, bundle.x_test])
        assert torch.isfinite(everything).all()
        assert everything.min() >= 0 and everything.max() <= 1
    assert any("sizes" in note for note in bundle.notes)  # mixed sizes are said


def test_high_bit_transparent_and_gray_images_keep_their_meaning():
    files = {f"deep/{i}.png": image_bytes("I;16", value=65535) for i in range(5)}
    files |= {f"clear/{i}.png": image_bytes("RGBA", value=(0, 0, 0, 0)) for i in range(5)}
    bundle = load_image_zip(make_zip(files), size=8)  # auto: every picture is gray -> 1 channel
    assert bundle.info.input_shape == (1, 8, 8)
    everything = torch.cat([bundle.x_train, bundle.x_val, bundle.x_test])
    assert torch.allclose(everything, torch.ones_like(everything), atol=1e-3)  # white both ways


def test_a_top_folder_is_looked_through_and_junk_is_skipped_with_a_note():
    files = {f"pets/{name}": data for name, data in two_classes(5).items()}
    files |= {"pets/cats/notes.txt": b"hello", "__MACOSX/pets/cats/._0.png": b"xx",
              "pets/.DS_Store": b"xx"}
    bundle = load_image_zip(make_zip(files, links={"pets/dogs/link.png": "/etc/passwd"}), size=8)
    assert bundle.class_names == ["cats", "dogs"]
    assert any("link.png" in note and "link" in note for note in bundle.notes)
    assert any("notes.txt" in note for note in bundle.notes)


def test_images_picked_one_by_one_pack_into_the_same_format():
    packed = pack_classes({"yes": [("a.png", image_bytes("L"))] * 6,
                           "no/../x": [("../b.png", image_bytes("RGB"))] * 6})
    bundle = load_image_zip(packed, size=8)
    assert bundle.class_names == ["no-..-x", "yes"]
    time.sleep(1.1)  # zip entries carry a time to the second: the packed bytes must not
    assert pack_classes({"yes": [("a.png", image_bytes("L"))] * 6,
                         "no/../x": [("../b.png", image_bytes("RGB"))] * 6}) == packed


@pytest.mark.parametrize("name", ["../../x.png", "cats/../../x.png", "/etc/x.png", "C:/x.png",
                                  "..\\..\\x.png"])
def test_members_escaping_the_archive_refuse_it_naming_the_member(name):
    with pytest.raises(DatasetError, match="points outside") as caught:
        load_image_zip(make_zip(two_classes(5) | {name: image_bytes()}))
    assert name in str(caught.value)


@pytest.mark.parametrize("files,expected", [
    ({"cats/": b"", **{f"dogs/{i}.png": image_bytes() for i in range(5)}}, "'cats' has no images"),
    ({f"cats/{i}.png": image_bytes() for i in range(5)}, "at least 2 class folders"),
    ({"a.png": image_bytes(), **two_classes(3)}, "a.png is not in a class folder"),
    (two_classes(3, **{"dogs/broken.png": b"\x89PNG\r\n\x1a\n not really"}),
     "'dogs/broken.png' could not be read as an image"),
    (two_classes(3, **{"dogs/cut.png": noise_png()[:500]}), "'dogs/cut.png' could not be read"),
    (two_classes(3, **{"dogs/fake.jpg": b"%!PS-Adobe-3.0 EPSF-3.0\n"}), "'dogs/fake.jpg' could not"),
])
def test_bad_contents_get_a_message_naming_the_folder_or_file(files, expected):
    with pytest.raises(DatasetError, match=expected.replace(".", r"\.").replace("(", r"\(")):
        load_image_zip(make_zip(files))


def test_not_a_zip_and_a_missing_file_are_refused(tmp_path):
    with pytest.raises(DatasetError, match="not a readable zip"):
        load_image_zip(b"PK\x03\x04 this is no zip")
    with pytest.raises(DatasetError, match="There is no file"):
        load_dataset("image_folder", path=str(tmp_path / "gone.zip"))
    with pytest.raises(DatasetError, match="no option 'colour'"):
        load_dataset("image_folder", path=str(tmp_path / "gone.zip"), colour=3)


def test_too_many_too_big_and_too_many_pixels_are_refused_before_decoding():
    small = UploadLimits(max_images=9)
    with pytest.raises(DatasetError, match="10 images.*LAYERLOOM_MAX_IMAGES"):
        load_image_zip(make_zip(two_classes(5)), limits=small)
    with pytest.raises(DatasetError, match="'dogs/big.png' is 30x30 pixels.*LAYERLOOM_MAX_IMAGE_PIXELS"):
        load_image_zip(make_zip(two_classes(3, **{"dogs/big.png": image_bytes(size=(30, 30))})),
                       limits=UploadLimits(max_image_pixels=899))
    with pytest.raises(DatasetError, match="LAYERLOOM_MAX_DATASET_MB"):
        load_image_zip(make_zip(two_classes(5)), size=128, limits=UploadLimits(max_dataset_mb=1))


def zip_bomb_member() -> bytes:
    """A 3 MB member of zeros that deflates to a few kilobytes."""
    return make_zip(two_classes(3) | {"cats/bomb.png": bytes(3 * 2**20)})


def test_an_oversized_member_is_refused_on_its_declared_size():
    with pytest.raises(DatasetError, match="'cats/bomb.png' is 3.0 MB.*LAYERLOOM_MAX_IMAGE_FILE_MB"):
        load_image_zip(zip_bomb_member(), limits=UploadLimits(max_file_mb=1))
    with pytest.raises(DatasetError, match="unpacks to .*LAYERLOOM_MAX_UNPACKED_MB"):
        load_image_zip(zip_bomb_member(), limits=UploadLimits(max_unpacked_mb=2))


def lie_about_sizes(archive: bytes, member: str, declared: int) -> bytes:
    """The archive with `member`'s uncompressed size rewritten in its local and central headers."""
    data = bytearray(archive)
    name = member.encode()
    for signature, offset in ((b"PK\x03\x04", 22), (b"PK\x01\x02", 24)):
        start = 0
        while (at := data.find(signature, start)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if data[name_at:name_at + len(name)] == name:
                data[at + offset:at + offset + 4] = struct.pack("<I", declared)
            start = at + 4
    return bytes(data)


def test_a_zip_bomb_that_lies_about_its_size_stops_at_the_cap():
    lying = lie_about_sizes(zip_bomb_member(), "cats/bomb.png", 100)
    assert zipfile.ZipFile(io.BytesIO(lying)).getinfo("cats/bomb.png").file_size == 100
    with pytest.raises(DatasetError, match="cats/bomb.png"):
        load_image_zip(lying, limits=UploadLimits(max_file_mb=1))


def test_limits_come_from_the_environment():
    limits = UploadLimits.from_env({"LAYERLOOM_MAX_IMAGES": "12", "LAYERLOOM_MAX_UNPACKED_MB": ""})
    assert limits.max_images == 12 and limits.max_unpacked_mb == UploadLimits().max_unpacked_mb
    with pytest.raises(DatasetError, match="LAYERLOOM_MAX_IMAGE_PIXELS must be a whole number"):
        UploadLimits.from_env({"LAYERLOOM_MAX_IMAGE_PIXELS": "lots"})


def test_too_few_photos_say_so_in_the_persons_words(tmp_path):
    """Two photos per class cannot be split three ways: the message speaks of "Your images" and
    says what to do, not of a dataset's internal name and "rows"."""
    path = tmp_path / "few.zip"
    path.write_bytes(make_zip(two_classes(n=2)))
    with pytest.raises(DatasetError) as refused:
        load_dataset("image_folder", path=str(path))
    assert "Your images has too few examples (4)" in str(refused.value)
    assert "image_folder" not in str(refused.value) and "rows" not in str(refused.value)
