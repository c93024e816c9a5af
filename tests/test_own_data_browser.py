"""Your own images in a real browser: upload a zip of two classes, train the CNN on it, and
inspect a prediction that names the classes from the folder names."""
import io
import re
import time
import zipfile
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest
from PIL import Image, ImageDraw

from tests.conftest import pick_data_on_train, streamlit_server, wait_for_app
from tests.test_inspect_browser import SHOTS, TALL, open_inspect_tab, wait_for_chart

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def app_url():
    with streamlit_server("app.py", env={"LAYERLOOM_WORKER": "thread"}) as (_, url):
        yield url


def shapes_zip(path: Path, per_class: int = 20) -> Path:
    """circles/ and squares/ of 40x40 colour PNGs, inside a top folder as zipping a folder makes."""
    rng = np.random.default_rng(0)
    with zipfile.ZipFile(path, "w") as archive:
        for folder, draw in (("circles", "ellipse"), ("squares", "rectangle")):
            for index in range(per_class):
                image = Image.new("RGB", (40, 40), "white")
                left, top = (int(v) for v in rng.integers(2, 16, 2))
                side = int(rng.integers(12, 22))
                getattr(ImageDraw.Draw(image), draw)([left, top, left + side, top + side], fill="navy")
                out = io.BytesIO()
                image.save(out, "PNG")
                archive.writestr(f"my shapes/{folder}/{index}.png", out.getvalue())
    return path


def test_upload_a_zip_of_two_classes_train_and_inspect_a_prediction(app_url, page, tmp_path):
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.set_default_timeout(90_000)  # a 2-core box shared by a class's worth of tests is slow
    page.set_viewport_size(TALL)
    page.goto(app_url)
    wait_for_app(page)
    pick_data_on_train(page, "cnn_seed", "Your images")
    page.locator(".st-key-train-images-zip input[type=file]").set_input_files(
        str(shapes_zip(tmp_path / "my shapes.zip")))
    page.get_by_text(re.compile(r"Training images per class \(circles 14, squares 14\)")).wait_for(
        timeout=60_000)
    page.get_by_role("button", name="Set fc2 out_features to 2").click()  # two classes
    wait_for_app(page)
    epochs = page.get_by_role("spinbutton", name="Epochs")
    epochs.fill("3")
    epochs.press("Enter")
    wait_for_app(page)
    page.screenshot(path=str(SHOTS / "own-images-train.png"))
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Run 1 · .* finished in")).wait_for(timeout=120_000)

    open_inspect_tab(page, "Prediction")
    wait_for_chart(page, "Class probabilities")
    page.get_by_text(re.compile(r"True: (circles|squares) · Predicted: (circles|squares)")).wait_for()
    page.screenshot(path=str(SHOTS / "own-images-inspect.png"))
    assert not page.console_errors, page.console_errors


def test_click_points_on_the_plane_train_and_see_the_decision_boundary(app_url, page):
    page.set_default_timeout(90_000)  # a 2-core box shared by a class's worth of tests is slow
    page.set_viewport_size(TALL)
    page.goto(app_url)
    wait_for_app(page)
    pick_data_on_train(page, "mlp_playground", "Your points")
    pad = page.frame_locator("iframe").locator("canvas.ll-points") if not page.locator(
        "canvas.ll-points").count() else page.locator("canvas.ll-points")
    for active, corner in (("blue", (0.25, 0.25)), ("red", (0.75, 0.75))):
        page.get_by_text(active, exact=True).click()  # the "Class to place" choice
        wait_for_app(page)
        for dx, dy in ((0, 0), (0.08, 0), (0, 0.08)):  # 3 clicks of 5 points each
            box = pad.bounding_box()  # read each time: a notice above may have gone meanwhile
            page.mouse.click(box["x"] + box["width"] * (corner[0] + dx),
                             box["y"] + box["height"] * (corner[1] + dy))
            wait_for_app(page)
    page.get_by_text("blue: 15 · red: 15").wait_for(timeout=30_000)
    page.screenshot(path=str(SHOTS / "own-points-train.png"))
    page.get_by_role("button", name="Start training").click()
    page.get_by_text(re.compile(r"Run 1 · .* finished in")).wait_for(timeout=120_000)
    open_inspect_tab(page, "Decision boundary")
    page.wait_for_timeout(2000)
    page.screenshot(path=str(SHOTS / "own-points-boundary.png"))
    assert not page.console_errors, page.console_errors


def photo_counts(page) -> list[int]:
    caption = page.get_by_text(re.compile(r"class 1: \d+ photos")).first.inner_text()
    return [int(n) for n in re.findall(r"(\d+) photos", caption)]


def test_webcam_photos_with_chromiums_fake_camera_train_and_test_live(app_url, browser):
    from tests.conftest import CHROMIUM, CHROMIUM_ARGS
    fake_camera = ["--use-fake-device-for-media-stream", "--use-fake-ui-for-media-stream"]
    # A second Chromium with a fake camera, from the session's one Playwright (a second
    # sync_playwright() in the same worker process is refused).
    with closing(browser.browser_type.launch(executable_path=CHROMIUM,
                                             args=[*CHROMIUM_ARGS, *fake_camera])) as browser:
        page = browser.new_page(viewport=TALL)
        errors = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.set_default_timeout(90_000)
        page.goto(app_url)
        wait_for_app(page)
        pick_data_on_train(page, "cnn_seed", "Your images")
        page.get_by_text("The webcam", exact=True).click()
        wait_for_app(page)
        for index, name in enumerate(("class 1", "class 2")):
            page.get_by_text(name, exact=True).first.click()  # "Add photos to"
            wait_for_app(page)
            while photo_counts(page)[index] < 5:
                # A fresh camera starts for each photo, and a busy server answers late: click,
                # then wait for the count to grow before taking the next one.
                before = photo_counts(page)[index]
                page.get_by_role("button", name="Take Photo").click()
                deadline = time.monotonic() + 30
                while photo_counts(page)[index] == before and time.monotonic() < deadline:
                    page.wait_for_timeout(500)
        page.screenshot(path=str(SHOTS / "own-webcam-photos.png"))
        page.get_by_role("button", name="Set fc2 out_features to 2").click()
        wait_for_app(page)
        page.get_by_role("button", name="Start training").click()
        page.get_by_text(re.compile(r"Run 1 · .* finished in")).wait_for(timeout=120_000)
        page.get_by_text(re.compile(r"Test Run 1 · .* with the camera")).click()
        wait_for_app(page)
        page.get_by_role("button", name="Take Photo").last.click()  # the test's own camera
        wait_for_chart(page, "Class probabilities", timeout_ms=90_000)
        page.screenshot(path=str(SHOTS / "own-webcam-test.png"))
    assert not errors, errors
