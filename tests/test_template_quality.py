"""Every template reaches the result docs/templates.md states for it, trained exactly as the app
trains it: `train_run` with the template's own dataset options and recommended settings
(builder/templates/index.json). Where a full run is too long for CI, only the dataset's size is
shrunk (SHRUNK); the bar is the documented one. One torch thread: the suite shares 2 cores."""
import pytest
import torch

from builder import compile_graph
from builder.templates import list_templates, load_template
from tests.trainer_fakes import Recorder
from trainers.config import RunSpec, default_config
from trainers.datasets import load_dataset
from trainers.datasets.text import NEGATORS, TOKEN
from trainers.loop import train_run

TEMPLATES = {info.name: info for info in list_templates()}
# Dataset options that keep a template's run short in CI and still reach the documented bar.
# (Measured: cnn_seed, resnet_small and inception_block on 1000 shapes reach only 62-67% in their
# epochs, the LSTM on 600 sequences 26%, so those train on their full default sets, marked slow.)
SHRUNK = {"gru_forecast": {"n_samples": 600}}


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def train(name: str, seed: int = 0):
    """(result, events, bundle, trained model) of the template at its defaults."""
    info = TEMPLATES[name]
    options = {**info.dataset_options, **SHRUNK.get(name, {})}
    config = default_config(info.task, seed=seed, **info.settings)
    emit = Recorder()
    graph = load_template(name).to_dict()
    result = train_run(RunSpec(graph=graph, dataset=info.dataset, dataset_options=options,
                               config=config), None, emit)
    assert result["status"] == "finished", result
    bundle = load_dataset(info.dataset, seed=seed, **options)
    return result, emit, bundle, trained(name, emit)


def trained(name: str, emit: Recorder):
    """The template's whole graph with the run's final weights, in eval mode."""
    model = compile_graph(load_template(name))
    model.load_state_dict(emit.of("weights")[-1]["state"])
    return model.eval()


def reconstruction_vs_mean_image(model, bundle) -> float:
    """Test-set reconstruction error over the error of always answering the mean training image."""
    x = bundle.x_test
    with torch.no_grad():
        error = (model(x).reshape(x.shape) - x).pow(2).mean()
    return float(error / (bundle.x_train.mean(0, keepdim=True) - x).pow(2).mean())


def frechet_distance(a: torch.Tensor, b: torch.Tensor) -> float:
    """Fréchet distance between Gaussians fitted to two sets of flattened images (FID, in pixel
    space): small only when the samples have the data's mean AND its variety."""
    a, b = a.reshape(len(a), -1).double(), b.reshape(len(b), -1).double()
    cov_a, cov_b = torch.cov(a.T), torch.cov(b.T)
    values, vectors = torch.linalg.eigh(cov_a)
    root_a = vectors @ torch.diag(values.clamp(min=0).sqrt()) @ vectors.T
    cross = torch.linalg.eigvalsh(root_a @ cov_b @ root_a).clamp(min=0).sqrt().sum()
    return float((a.mean(0) - b.mean(0)).pow(2).sum() + cov_a.trace() + cov_b.trace() - 2 * cross)


def looks_like_the_data(samples: torch.Tensor, bundle) -> None:
    """Samples at most half as far from the test digits (Fréchet) as copies of the mean digit,
    and varied like real digits (mean pairwise distance at least half theirs). Measured: the GAN
    that drew 16 near-identical blobs scored 0.94 of the mean digit's distance and 0.24 of the
    spread; its fix 0.31-0.39 and 1.05-1.1."""
    real = bundle.x_test
    mean_digit = bundle.x_train.mean(0, keepdim=True).expand(len(samples), -1, -1, -1)
    jitter = 0.01 * torch.randn(mean_digit.shape, generator=torch.Generator().manual_seed(0))
    assert frechet_distance(samples, real) < frechet_distance(mean_digit + jitter, real) / 2
    spread = torch.pdist(samples.reshape(len(samples), -1)).mean()
    assert spread > 0.5 * torch.pdist(real[:len(samples)].reshape(len(samples), -1)).mean()


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_mlp_reaches_96_percent_for_any_seed(seed):
    result, *_ = train("mlp_digits", seed)
    assert result["test_metric"] >= 0.96


def test_playground_mlp_separates_the_moons():
    result, *_ = train("mlp_playground")
    assert result["test_metric"] >= 0.97


@pytest.mark.slow
@pytest.mark.parametrize("name", ["cnn_seed", "resnet_small", "inception_block"])
def test_convolutional_classifiers_tell_the_shapes_apart(name):
    result, *_ = train(name)
    assert result["test_metric"] >= 0.9


@pytest.mark.slow
def test_webcam_cnn_tells_coloured_shapes_apart_by_shape_alone():
    result, *_ = train("cnn_webcam")
    assert result["test_metric"] >= 0.9


@pytest.mark.slow
def test_lstm_classifies_the_sequences():
    result, *_ = train("lstm_seed")
    assert result["test_metric"] >= 0.9


@pytest.mark.slow
def test_gru_forecaster_predicts_the_next_value():
    result, *_ = train("gru_forecast")
    assert result["metric"] == "r2" and result["test_metric"] >= 0.9


@pytest.mark.slow
def test_transformer_reads_sentiment_including_negated_reviews():
    result, _, bundle, model = train("transformer_text")
    assert result["test_metric"] >= 0.85
    negators = torch.tensor([TOKEN[word] for word in NEGATORS])
    has_not = torch.isin(bundle.x_test, negators).any(1)
    one_clause = ~(bundle.x_test == TOKEN["and"]).any(1)
    negated = has_not & one_clause  # "the plot was not good": the order of words is not needed
    with torch.no_grad():
        correct = model(bundle.x_test[negated]).argmax(1) == bundle.y_test[negated]
    assert correct.float().mean() >= 0.9


def test_lstm_reads_word_order_so_two_clause_negations_are_right_too():
    result, _, bundle, model = train("lstm_text")
    assert result["test_metric"] >= 0.95
    negators = torch.tensor([TOKEN[word] for word in NEGATORS])
    has_not = torch.isin(bundle.x_test, negators).any(1)
    two_clauses = (bundle.x_test == TOKEN["and"]).any(1)  # "good and not bad": order matters
    with torch.no_grad():
        correct = model(bundle.x_test[has_not & two_clauses]).argmax(1) == bundle.y_test[has_not & two_clauses]
    assert correct.float().mean() >= 0.9


@pytest.mark.parametrize("name", ["autoencoder_dense",
                                  pytest.param("autoencoder_conv", marks=pytest.mark.slow)])
def test_autoencoders_halve_the_error_of_the_mean_image(name):
    _, _, bundle, model = train(name)
    assert reconstruction_vs_mean_image(model, bundle) <= 0.5


def test_vae_reconstructs_and_samples_digits():
    _, _, bundle, model = train("vae")
    assert reconstruction_vs_mean_image(model, bundle) <= 0.5  # no posterior collapse
    decoder = ["dec", "dec_relu", "dec_out", "pixels", "image"]  # the graph after Reparameterize
    codes = torch.randn(256, 4, generator=torch.Generator().manual_seed(0))  # the prior
    with torch.no_grad():
        for node in decoder:
            codes = model.node_module(node)(codes)
    looks_like_the_data(codes, bundle)


@pytest.mark.slow
def test_gan_samples_are_varied_and_digit_like():
    _, _, bundle, model = train("gan")
    noise = torch.randn(256, 16, generator=torch.Generator().manual_seed(0))
    with torch.no_grad():  # the graph's outputs: the generator's images, the discriminator's score
        samples, _ = model(noise, torch.zeros(256, 1, 8, 8))
    looks_like_the_data(samples, bundle)
