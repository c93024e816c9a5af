"""The Train page's own-data choices, driven through AppTest: upload, preview per class, the
fit check against the graph, and a real (tiny) run on the uploaded files."""
from pathlib import Path

import pytest

from tests.test_datasets_image_folder import image_bytes, make_zip, two_classes
from tests.test_train_page import (button, click, latest_job, open_page, plain, rerun,
                                   set_widget, thread_workers)  # noqa: F401 - fixture


def chart_keys(app) -> list[str]:
    """The user keys of the page's plotly charts (Streamlit's element ids end with them)."""
    return [chart.proto.id.rsplit("-", 1)[-1] for chart in app.get("plotly_chart")]


def upload_zip(app, data: bytes, name: str = "pets.zip"):
    app.file_uploader(key="train.images.zip").upload(name, data, "application/zip")
    return rerun(app)


def test_a_zip_of_two_classes_previews_per_class_fits_the_cnn_and_trains():
    app = open_page("cnn_seed", **{"train.dataset": "image_folder", "train.classification.epochs": 1})
    assert any("Upload a .zip" in info.value for info in app.info)
    upload_zip(app, make_zip(two_classes(8)))
    # The graph's Input is [1, 28, 28]: size and channels start from it, so the graph fits.
    assert app.number_input(key="train.images.size").value == 28
    assert app.selectbox(key="train.images.channels").value == "1"
    assert any("Training images per class (cats 6, dogs 6)" in plain(e.label) for e in app.expander)
    assert "train.images.grid" in chart_keys(app)
    assert ["Set fc2 out_features to 2"] == [e.label for e in app.button if e.key == "train.fix.0"]
    click(app, "train.fix.0")  # two classes: the offered fix resizes the output
    assert not app.error, [e.value for e in app.error]
    saved = Path(app.session_state["train.own_data.last_upload"]["images.zip"][1])
    assert saved.exists() and saved.parent.parent.name == "layerloom-sessions"
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.dataset == "image_folder" and job.spec.dataset_options["path"] == str(saved)
    assert job.wait(60), "the run did not finish"
    assert job.status == "finished", job.error


def test_colour_images_offer_the_input_shape_taken_from_the_data():
    app = open_page("cnn_seed", **{"train.dataset": "image_folder"})
    upload_zip(app, make_zip(two_classes(8)))
    set_widget(app, "train.images.channels", "3")
    rerun(app)
    fix = next(b for b in app.button if b.label == "Set x shape to [3, 28, 28]")
    fix.click()
    rerun(app)
    nodes = {node["id"]: node for node in app.session_state["layerloom.graph"]["nodes"]}
    assert nodes["x"]["params"]["shape"] == [3, 28, 28]


def test_a_hostile_zip_is_refused_by_name_and_start_stays_off():
    app = open_page("cnn_seed", **{"train.dataset": "image_folder"})
    upload_zip(app, make_zip(two_classes(3) | {"../../evil.png": image_bytes()}), "evil.zip")
    assert "evil.zip: The zip member '../../evil.png' points outside" in plain(app.error[0].value)
    assert button(app, "train.start").disabled


def test_images_picked_per_class_become_a_dataset():
    app = open_page("cnn_seed", **{"train.dataset": "image_folder"})
    app.radio(key="train.images.source").set_value("Images picked per class")
    rerun(app)
    app.text_input(key="train.images.class_name.0").input("thumbs up")
    app.file_uploader(key="train.images.files.0").set_value(
        [(f"u{i}.png", image_bytes("L", value=250), "image/png") for i in range(6)])
    rerun(app)
    assert any("Pick some images for class 2" in plain(info.value) for info in app.info)
    app.file_uploader(key="train.images.files.1").set_value(
        [(f"d{i}.jpg", image_bytes("RGB", fmt="JPEG", value=(5, 5, 5)), "image/jpeg")
         for i in range(6)])
    rerun(app)
    assert any("(class 2 4, thumbs up 4)" in plain(e.label) for e in app.expander)
    assert app.session_state["train.own_data.bundles"]["image_folder"][1].class_names == [
        "class 2", "thumbs up"]


def test_a_text_csv_trains_the_transformer_after_the_offered_fixes():
    from tests.test_datasets_text_csv import reviews_csv
    app = open_page("transformer_text", **{"train.dataset": "text_csv",
                                           "train.classification.epochs": 1})
    app.file_uploader(key="train.text.csv").upload("reviews.csv", reviews_csv(200), "text/csv")
    rerun(app)
    assert app.selectbox(key="train.text.text").value == "review"  # the longest text
    assert app.selectbox(key="train.text.label").value == "mood"
    assert app.number_input(key="train.text.max_length").value == 16  # the template's Input
    assert any("Vocabulary: " in plain(caption.value) for caption in app.caption)
    assert any("i loved this film" in text for text in app.dataframe[0].value["text"])
    fix = next(b for b in app.button if b.key == "train.fix.0")
    assert fix.label.startswith("Set embed num_embeddings to ")
    click(app, "train.fix.0")
    assert not [b for b in app.button if (b.key or "").startswith("train.fix.")]
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.dataset == "text_csv" and job.spec.dataset_options["label"] == "mood"
    assert job.wait(60), "the run did not finish"
    assert job.status == "finished", job.error


@pytest.mark.parametrize("template", ["lstm_text", "transformer_text"])
def test_texts_on_a_graph_that_reads_no_words_offer_the_text_templates_sized_for_them(template):
    from tests.test_datasets_text_csv import reviews_csv
    app = open_page("mlp_digits", **{"train.dataset": "text_csv", "train.classification.epochs": 1})
    app.file_uploader(key="train.text.csv").upload("reviews.csv", reviews_csv(200), "text/csv")
    rerun(app)
    assert any("does not read words" in info.value for info in app.info)
    click(app, f"train.text.use.{template}")
    graph = app.session_state["layerloom.graph"]
    nodes = {node["id"]: node["params"] for node in graph["nodes"]}
    length = app.number_input(key="train.text.max_length").value  # its default: no token Input
    assert graph["name"] == template and nodes["tokens"]["shape"] == [length]
    assert not any(info.value.startswith("This graph does not read") for info in app.info)
    assert not [b for b in app.button if (b.key or "").startswith("train.fix.")]  # it fits as is
    assert app.selectbox(key="train.dataset").value == "text_csv"  # the texts stay
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.dataset == "text_csv" and job.wait(60), "the run did not finish"
    assert job.status == "finished", job.error


def test_a_few_dozen_sentences_get_the_epochs_that_make_enough_steps():
    from tests.test_templates_own_data import diary_csv
    app = open_page("lstm_text", **{"train.dataset": "text_csv"})
    app.file_uploader(key="train.text.csv").upload("diary.csv", diary_csv(20), "text/csv")
    rerun(app)
    # 28 training rows are one batch of 64: the template's 10 epochs would be 10 steps.
    set_widget(app, "train.classification.batch_size", 64)
    rerun(app)
    assert any("28 training examples in batches of 64 make 1 step per epoch" in plain(i.value)
               for i in app.info)
    click(app, "train.more_epochs")
    assert app.number_input(key="train.classification.epochs").value == 50
    assert not any(b.key == "train.more_epochs" for b in app.button)


def test_points_placed_on_the_plane_train_the_playground_mlp():
    from tests.test_datasets_points import two_blobs
    app = open_page("mlp_playground", **{"train.dataset": "points",
                                         "train.classification.epochs": 2})
    assert any("at least 5 points of each class" in info.value for info in app.info)
    app.session_state["train.points.list"] = two_blobs()  # what clicks on the pad add up to
    rerun(app)
    assert any("blue: 10 · red: 10" in caption.value for caption in app.caption)
    assert not app.error, [e.value for e in app.error]
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.dataset == "points"
    assert job.wait(60), "the run did not finish"
    assert job.status == "finished", job.error
    click(app, "train.points.clear")
    assert app.session_state["train.points.list"] == []
    assert app.session_state["train.points.revision"] == 1


def test_a_sessions_uploads_are_deleted_when_its_jobs_end():
    """The folder every own-data file is saved in goes with the session (ui/runs.py's policy)."""
    import time

    from tests.test_train_page import RecordingManager
    from ui.session_lease import _PendingEnds, _session_dir
    app = open_page("cnn_seed", **{"train.dataset": "image_folder"})
    upload_zip(app, make_zip(two_classes(5)))
    owner = app.session_state["layerloom.owner"]
    saved = Path(app.session_state["train.own_data.last_upload"]["images.zip"][1])
    assert saved.parent == _session_dir(owner) and saved.exists()
    manager = RecordingManager()
    _PendingEnds(manager, session_active=lambda session: False).schedule(owner, "gone", 0.01)
    time.sleep(0.5)
    assert manager.ended == [owner] and not saved.parent.exists()


def take_photos(app, colours) -> None:
    """Six photos per class on the Train page's webcam panel, class i all in colours[i]."""
    app.radio(key="train.images.source").set_value("The webcam")
    rerun(app)
    set_widget(app, "train.camera.classes", len(colours))
    rerun(app)
    for class_index, colour in enumerate(colours):
        app.segmented_control(key="train.camera.active").set_value(class_index)
        rerun(app)
        for _ in range(6):  # each photo is kept and the camera is ready for the next
            camera = next(c for c in app.camera_input if c.key.startswith("train.camera.shot."))
            camera.set_value(("photo.jpg", image_bytes("RGB", (64, 48), "JPEG", colour), "image/jpeg"))
            rerun(app)


def test_webcam_photos_per_class_train_and_the_camera_tests_the_model():
    app = open_page("cnn_seed", **{"train.dataset": "image_folder",
                                   "train.classification.epochs": 1})
    take_photos(app, [(250, 250, 250), (5, 5, 5)])
    assert any("class 1: 6 photos · class 2: 6 photos" in plain(c.value) for c in app.caption)
    assert "train.images.grid" in chart_keys(app)
    click(app, "train.fix.0")  # two classes: the offered fix resizes the output
    click(app, "train.start")
    job = latest_job(app)
    assert job.wait(60) and job.status == "finished", job.error
    rerun(app)
    app.toggle(key="train.camera.testing").set_value(True)
    rerun(app)
    app.camera_input(key="train.camera.test").set_value(
        ("test.jpg", image_bytes("RGB", (64, 48), "JPEG", (250, 250, 250)), "image/jpeg"))
    rerun(app)
    assert "train.camera.probs" in chart_keys(app)


def test_the_webcam_offers_its_cnn_which_loads_with_a_score_per_class_and_keeps_the_photos():
    app = open_page("mlp_digits", **{"train.dataset": "image_folder"})
    take_photos(app, [(250, 250, 250), (5, 5, 5), (250, 10, 10)])
    assert any("Small CNN for webcam photos" in plain(info.value) for info in app.info)
    click(app, "train.camera.use_template")
    graph = app.session_state["layerloom.graph"]
    assert graph["name"] == "cnn_webcam"
    assert next(n for n in graph["nodes"] if n["id"] == "fc")["params"]["out_features"] == 3
    # The photos and the data pick stay; the images follow the CNN's Input, the settings its own.
    assert app.selectbox(key="train.dataset").value == "image_folder"
    assert any("class 1: 6 photos · class 2: 6 photos · class 3: 6 photos" in plain(c.value)
               for c in app.caption)
    assert app.number_input(key="train.images.size").value == 32
    assert app.selectbox(key="train.images.channels").value == "3"
    assert app.number_input(key="train.classification.epochs").value == 40
    assert not app.error, [e.value for e in app.error]
    assert not any(b.key == "train.camera.use_template" for b in app.button)  # offered once loaded
    set_widget(app, "train.classification.epochs", 2)
    click(app, "train.start")
    job = latest_job(app)
    assert job.spec.graph["name"] == "cnn_webcam" and job.spec.dataset == "image_folder"
    assert job.wait(60) and job.status == "finished", job.error


def test_a_session_holds_one_own_dataset_in_memory_whatever_it_uploaded():
    from tests.test_templates_own_data import diary_csv
    app = open_page("cnn_seed", **{"train.dataset": "image_folder"})
    upload_zip(app, make_zip(two_classes(8)))
    assert list(app.session_state["train.own_data.bundles"]) == ["image_folder"]
    set_widget(app, "train.dataset", "text_csv")
    rerun(app)
    app.file_uploader(key="train.text.csv").upload("diary.csv", diary_csv(20), "text/csv")
    rerun(app)
    assert list(app.session_state["train.own_data.bundles"]) == ["text_csv"]  # images let go
    set_widget(app, "train.dataset", "image_folder")
    rerun(app)  # the zip, kept in the session's folder, is read again
    assert any("Training images per class (cats 6, dogs 6)" in plain(e.label) for e in app.expander)
    assert list(app.session_state["train.own_data.bundles"]) == ["image_folder"]
