"""Each task's loss and metric against a direct computation; the GAN's alternating step."""
import pytest
import torch
import torch.nn.functional as F
from sklearn.metrics import r2_score
from torch import nn

from builder import GraphError, compile_graph
from builder.templates import load_template
from tests.trainer_fakes import Recorder, image_bundle
from trainers.config import make_config
from trainers.loop import Trainer, default_callbacks
from trainers.tasks import VAE, Autoencoder, BatchLog, Classification, Regression, build_gan

torch.manual_seed(0)


class Fixed(nn.Module):
    """Returns the same output whatever the input (to check metrics on known numbers)."""

    def __init__(self, output):
        super().__init__()
        self.output = output

    def forward(self, x):
        return self.output


def test_classification_gives_cross_entropy_and_accuracy():
    logits = torch.tensor([[2.0, 0.0], [0.0, 1.0], [3.0, 0.0], [0.0, 2.0]])
    y = torch.tensor([0, 1, 1, 1])
    task = Classification()
    log = BatchLog()
    for _ in range(2):  # two identical batches
        loss, part = task.loss_and_part(Fixed(logits), None, y)
        log.add(loss, len(y), part)
    assert loss.item() == pytest.approx(F.cross_entropy(logits, y).item())
    mean_loss, accuracy = task.summarise(log.drain())
    assert mean_loss == pytest.approx(loss.item()) and accuracy == 0.75


@pytest.mark.parametrize("kind,reference", [("mse", F.mse_loss), ("mae", F.l1_loss)])
def test_regression_loss_and_r2_over_several_batches(kind, reference):
    y = torch.randn(10, 2)
    predictions = y + 0.3 * torch.randn(10, 2)
    task = Regression(kind)
    log = BatchLog()
    for rows in (slice(0, 4), slice(4, 10)):
        loss, part = task.loss_and_part(Fixed(predictions[rows]), None, y[rows])
        log.add(loss, len(y[rows]), part)
    _, r2 = task.summarise(log.drain())
    flat = y.flatten().numpy(), predictions.flatten().numpy()
    assert r2 == pytest.approx(r2_score(*flat), rel=1e-5)
    assert loss.item() == pytest.approx(reference(predictions[4:], y[4:]).item())


def test_a_flat_head_is_viewed_as_the_target_and_a_wrong_size_is_named():
    x = torch.rand(3, 1, 2, 2)
    loss, _ = Autoencoder().loss_and_part(Fixed(x.reshape(3, 4)), x, None)
    assert loss.item() == 0
    with pytest.raises(ValueError, match=r"output has shape \[5\] per sample but the target has \[1, 2, 2\]"):
        Autoencoder().loss_and_part(Fixed(torch.rand(3, 5)), x, None)


def test_vae_adds_the_kl_term_of_its_reparameterize_nodes():
    model = compile_graph(load_template("vae"))
    x = torch.rand(8, 1, 8, 8)
    torch.manual_seed(1)
    loss, _ = VAE().loss_and_part(model, x, None)
    torch.manual_seed(1)  # the same sampled z again
    output = model(x)
    kl = model.aux_loss()
    assert kl.item() > 0
    assert loss.item() == pytest.approx((F.mse_loss(output, x, reduction="sum") / 8 + kl).item())


def test_gan_finds_its_two_parts_and_keeps_the_whole_graphs_state_keys():
    graph = load_template("gan")
    pair, task = build_gan(graph, (1, 8, 8), seed=0)
    assert set(pair.state_dict()) == set(compile_graph(graph).state_dict())
    assert task.latent_shape == (16,)
    assert set(task.parameter_groups(pair)) == {"discriminator", "generator"}


def test_gan_alternates_updates_and_emits_samples():
    pair, task = build_gan(load_template("gan"), (1, 8, 8), seed=0)
    generator, discriminator = pair.parts
    before = {k: v.clone() for k, v in pair.state_dict().items()}
    emit = Recorder()
    result = Trainer(pair, image_bundle(), make_config(task="gan", epochs=2, lr=2e-4),
                     default_callbacks(emit), task=task).fit()
    changed = {k for k, v in pair.state_dict().items() if not torch.equal(v, before[k])}
    assert any(k.startswith("g_") for k in changed) and any(k.startswith("d_") for k in changed)
    assert result["metric"] == "discriminator_loss" and result["test_loss"] is None
    samples = emit.of("samples")[-1]["images"]
    assert samples.shape == (16, 1, 8, 8) and 0 <= samples.min() and samples.max() <= 1
    assert all(e["val_loss"] is None for e in emit.of("epoch"))


def test_a_graph_that_is_not_a_gan_pair_is_refused_with_what_was_found():
    with pytest.raises(GraphError, match=r"a GAN needs two separate parts.*1 part\(s\): \[1, 8, 8\] -> \[10\]"):
        build_gan(load_template("mlp_digits"), (1, 8, 8), seed=0)


def test_autoencoder_reconstruction_loss_falls_and_samples_pair_originals_with_outputs():
    emit = Recorder()
    torch.manual_seed(0)
    model = compile_graph(load_template("autoencoder_dense"))
    Trainer(model, image_bundle(n=300), make_config(task="autoencoder", epochs=4, lr=3e-3),
            default_callbacks(emit)).fit()
    losses = [e["train_loss"] for e in emit.of("epoch")]
    assert losses[-1] < losses[0]
    assert emit.of("samples")[0]["images"].shape == (32, 1, 8, 8)  # 16 originals, 16 outputs
