"""The templates really learn their datasets through train_run (the worker entry point).

Small datasets and few epochs keep each run to a few seconds on one CPU thread; the thresholds
sit well above chance but below what these settings reach (measured at seed 0)."""
import pytest
import torch

from builder.templates import load_template
from tests.trainer_fakes import Recorder
from trainers.config import RunSpec, default_config
from trainers.loop import train_run, warm_up

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    previous = torch.get_num_threads()
    torch.set_num_threads(1)  # the suite shares 2 cores; one thread is also deterministic
    warm_up()
    yield
    torch.set_num_threads(previous)


def train(template: str, dataset: str, task: str = "classification", options=None, **settings):
    emit = Recorder()
    spec = RunSpec(graph=load_template(template).to_dict(), dataset=dataset,
                   dataset_options=options or {}, config=default_config(task, **settings))
    return train_run(spec, None, emit), emit


def test_mlp_reaches_96_percent_on_digits_in_a_few_seconds():
    result, emit = train("mlp_digits", "digits", epochs=20, lr=1e-2, batch_size=32)
    assert result["test_metric"] >= 0.96
    assert result["seconds"] < 10
    assert not emit.of("alert")


def test_cnn_on_shapes_is_well_above_chance():
    result, _ = train("cnn_seed", "shapes", options={"n_samples": 1000}, epochs=3, lr=1e-3)
    assert result["test_metric"] > 0.3  # 10 classes: chance is 0.1


def test_transformer_learns_sentiment():
    result, emit = train("transformer_text", "sentiment", options={"n_samples": 2000}, epochs=8)
    assert result["test_metric"] > 0.7  # 2 classes: chance is 0.5
    losses = [e["train_loss"] for e in emit.of("epoch")]
    assert losses[-1] < losses[0] - 0.1


def test_gru_forecaster_fits_the_sine():
    result, _ = train("gru_forecast", "sine", task="regression", options={"n_samples": 600},
                      epochs=4)
    assert result["metric"] == "r2" and result["test_metric"] > 0


def test_autoencoder_reconstruction_loss_falls():
    _, emit = train("autoencoder_dense", "digits", task="autoencoder", epochs=5)
    losses = [e["train_loss"] for e in emit.of("epoch")]
    assert losses[-1] < 0.6 * losses[0]
    assert emit.of("samples")[-1]["images"].shape == (32, 1, 8, 8)


def test_vae_loss_falls():
    _, emit = train("vae", "digits", task="vae", epochs=5)
    losses = [e["train_loss"] for e in emit.of("epoch")]
    assert losses[-1] < 0.8 * losses[0]


def test_gan_alternates_and_produces_samples():
    result, emit = train("gan", "digits", task="gan", epochs=3)
    epochs = emit.of("epoch")
    assert result["status"] == "finished" and len(epochs) == 3
    assert all(e["train_loss"] > 0 and e["train_metric"] > 0 for e in epochs)  # G and D losses
    images = emit.of("samples")[-1]["images"]
    assert images.shape == (16, 1, 8, 8) and images.std() > 0
