"""Points placed by hand: the saved file, what the browser may send, and their dataset."""
import json

import pytest
import torch

from trainers.datasets import DatasetError, load_dataset
from trainers.datasets.points import load_points, points_file
from trainers.datasets.upload_limits import UploadLimits
from ui.point_pad import points_from_state


def two_blobs(per_class: int = 10) -> list:
    return [[-0.5 + 0.01 * i, 0.5, 0] for i in range(per_class)] + \
           [[0.5, -0.5 + 0.01 * i, 1] for i in range(per_class)]


def test_placed_points_become_a_2d_dataset_on_the_plane(tmp_path):
    path = tmp_path / "points.json"
    path.write_bytes(points_file(two_blobs(), ["blue", "red"]))
    bundle = load_dataset("points", path=str(path))
    assert bundle.info.input_shape == (2,) and bundle.class_names == ["blue", "red"]
    assert len(bundle.x_train) + len(bundle.x_val) + len(bundle.x_test) == 20
    assert torch.all(bundle.x_train.abs() <= 1)  # not standardised: the plane's own coordinates


@pytest.mark.parametrize("content,expected", [
    ({"classes": ["a", "b"], "points": two_blobs(3)}, "at least 5 points of each class"),
    ({"classes": ["a"], "points": two_blobs()}, "2 to 6 named classes"),
    ({"classes": ["a", "b"], "points": [[0, 0, 2]] * 10}, "Point 1 "),
    ({"classes": ["a", "b"], "points": [[0, 5, 0]] * 10}, r"in \[-1, 1\]"),
    ({"classes": ["a", "b"], "points": [[0, 0, True]]}, "Point 1 "),
    ({"classes": ["a", "b"]}, "is not"),
])
def test_bad_points_files_are_refused_with_the_reason(content, expected):
    with pytest.raises(DatasetError, match=expected):
        load_points(json.dumps(content).encode())


def test_too_many_points_are_refused():
    with pytest.raises(DatasetError, match="LAYERLOOM_MAX_POINTS"):
        load_points(points_file(two_blobs(), ["a", "b"]), limits=UploadLimits(max_points=19))


def test_what_the_browser_sends_is_used_only_for_this_revision_and_when_valid():
    sent = {"points": [[0.1, -0.2, 1], [1, 1, 0]], "revision": 3}
    assert points_from_state(sent, 3, 2, 100) == [[0.1, -0.2, 1], [1.0, 1.0, 0]]
    assert points_from_state(sent, 4, 2, 100) is None  # cleared since: an older list
    assert points_from_state(sent, 3, 1, 100) is None  # class 1 no longer exists
    assert points_from_state(sent, 3, 2, 1) is None  # too many
    for bad in ([[0, 2, 0]], [[0, float("nan"), 0]], [[0, 0]], [["0", 0, 0]], "x"):
        assert points_from_state({"points": bad, "revision": 3}, 3, 2, 100) is None
