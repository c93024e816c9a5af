"""The templates made for people's own data reach a good result on small sets the tests make, as
the app trains them (`train_run` with the template's own settings): the webcam CNN on a few dozen
photos per class, (below) the text templates on a few dozen sentences."""
import io
import zipfile

import numpy as np
import pytest
import torch
from PIL import Image, ImageDraw

from builder.templates import list_templates, load_template
from tests.trainer_fakes import Recorder
from trainers.config import RunSpec, default_config
from trainers.loop import train_run, warm_up

TEMPLATES = {info.name: info for info in list_templates()}


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)
    warm_up()
    yield
    torch.set_num_threads(previous)


def train_template_on(name: str, dataset: str, options: dict, classes: int, seed: int = 0):
    """(result, final weights) of template `name`, its Linear head set to `classes` as the Train
    page's one-click fix does, trained with the template's settings on `dataset`."""
    graph = load_template(name).to_dict()
    head = next(node for node in graph["nodes"] if node["id"] == "fc")
    head["params"]["out_features"] = classes
    emit = Recorder()
    config = default_config("classification", seed=seed, **TEMPLATES[name].settings)
    result = train_run(RunSpec(graph=graph, dataset=dataset, dataset_options=options,
                               config=config), None, emit)
    assert result["status"] == "finished", result
    return result, emit.of("weights")[-1]["state"]


def webcam_photos(per_class: int, seed: int) -> bytes:
    """A zip of 160x120 JPEG "photos": a red ball or a blue card held anywhere in front of a
    random background (in the square the photo is cropped to), in uneven colours and with sensor noise."""
    rng = np.random.default_rng(seed)
    archive = io.BytesIO()
    with zipfile.ZipFile(archive, "w") as zipped:
        for name, colour in (("red ball", (220, 40, 40)), ("blue card", (40, 60, 220))):
            for index in range(per_class):
                photo = Image.new("RGB", (160, 120), tuple(int(c) for c in rng.integers(60, 200, 3)))
                half = int(rng.integers(18, 35))
                # Anywhere in the middle 120x120 that the crop to a square keeps.
                x, y = int(rng.integers(20 + half, 140 - half)), int(rng.integers(half, 120 - half))
                fill = tuple(int(np.clip(c + rng.integers(-30, 30), 0, 255)) for c in colour)
                pen = ImageDraw.Draw(photo)
                draw = pen.ellipse if name == "red ball" else pen.rectangle
                draw((x - half, y - half, x + half, y + half), fill=fill)
                noisy = np.asarray(photo, np.int16) + rng.integers(-20, 20, (120, 160, 3))
                jpeg = io.BytesIO()
                Image.fromarray(np.clip(noisy, 0, 255).astype(np.uint8)).save(jpeg, "JPEG")
                zipped.writestr(f"{name}/{index}.jpg", jpeg.getvalue())
    return archive.getvalue()


@pytest.mark.parametrize("seed", [0, 1])
def test_webcam_cnn_learns_two_classes_from_twenty_photos_each(tmp_path, seed):
    path = tmp_path / "photos.zip"
    path.write_bytes(webcam_photos(per_class=20, seed=seed))
    options = {"path": str(path), "size": 32, "channels": "3", "fit": "crop"}
    result, _ = train_template_on("cnn_webcam", "image_folder", options, classes=2, seed=seed)
    assert result["test_metric"] >= 0.95, result
