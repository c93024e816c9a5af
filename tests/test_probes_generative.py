"""Generative probes decode through any graph by overriding its bottleneck."""
import pytest
import torch

from builder import compile_graph
from builder.templates import load_template
from trainers.probes import capture_activations, decode, generate, interpolate, latent_node, sample_prior


@pytest.fixture(scope="module")
def vae():
    torch.manual_seed(0)
    return compile_graph(load_template("vae"))


def test_latent_node_is_the_reparameterize_or_the_narrowest_layer(vae):
    assert latent_node(vae) == "z"
    conv_ae = compile_graph(load_template("autoencoder_conv"))
    report = conv_ae.report
    chosen = latent_node(conv_ae)
    sizes = {n: torch.Size(report.nodes[n].output_shape).numel() for n in report.nodes}
    assert sizes[chosen] == min(size for node, size in sizes.items()
                                if node not in conv_ae.input_ids + conv_ae.output_ids)


def test_decoding_the_inputs_own_code_reproduces_the_forward_pass(vae):
    x = torch.rand(3, 1, 8, 8)
    codes = capture_activations(vae, (x,), ["z"])["z"]
    with torch.no_grad():
        expected = vae.eval()(x)
    assert torch.allclose(decode(vae, x, "z", codes), expected, atol=1e-6)


def test_interpolation_starts_and_ends_at_the_two_reconstructions(vae):
    a, b = torch.rand(1, 1, 8, 8), torch.rand(1, 1, 8, 8)
    path = interpolate(vae, a, b, steps=5)
    assert path.shape == (5, 1, 8, 8)
    with torch.no_grad():
        ends = vae.eval()(torch.cat([a, b]))
    assert torch.allclose(path[0], ends[0], atol=1e-6) and torch.allclose(path[-1], ends[1], atol=1e-6)


def test_prior_samples_and_gan_samples_have_image_shape(vae):
    assert sample_prior(vae, torch.rand(1, 1, 8, 8), count=6).shape == (6, 1, 8, 8)
    assert generate(compile_graph(load_template("gan")), count=4).shape == (4, 1, 8, 8)


def test_a_gan_graph_is_probed_with_noise_beside_its_images():
    from trainers.probes import activation_stats, first_dense_on_image, model_inputs, realness

    gan = compile_graph(load_template("gan"))
    images = torch.rand(5, 1, 8, 8)
    noise, data = model_inputs(gan, images)  # inputs in the graph's order: z, then image
    assert noise.shape == (5, 16) and data is images
    assert {row["node"] for row in activation_stats(gan, (noise, data))} >= {"g_fc1", "d_fc1"}
    verdict = realness(gan, images)
    assert verdict.shape == (5,) and ((verdict > 0) & (verdict < 1)).all()
    node, weights, image_shape = first_dense_on_image(gan)
    assert (node, tuple(weights.shape), image_shape) == ("d_fc1", (64, 64), (1, 8, 8))
    assert first_dense_on_image(compile_graph(load_template("cnn_seed"))) is None  # a conv reads it
