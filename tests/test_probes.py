"""Probes see inside a model without changing its outputs, training flag or gradients."""
import pytest
import torch
from torch import nn

from trainers.probes import (activation_stats, attention_maps, capture_activations,
                             classification_summary, feature_maps, first_layer_filters,
                             integrated_gradients, saliency)


class TinyCNN(nn.Module):
    def __init__(self):
        super().__init__()
        self.conv = nn.Conv2d(1, 4, 3, padding=1)
        self.relu = nn.ReLU()
        self.flat = nn.Flatten()
        self.fc = nn.Linear(4 * 8 * 8, 3)

    def forward(self, x):
        return self.fc(self.flat(self.relu(self.conv(x))))


class TinyTransformer(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(20, 16)
        self.encoder = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
        self.head = nn.Linear(16, 2)

    def forward(self, tokens):
        return self.head(self.encoder(self.embed(tokens)).mean(dim=1))


@pytest.fixture
def cnn():
    torch.manual_seed(0)
    return TinyCNN().train()


@pytest.fixture
def transformer():
    torch.manual_seed(0)
    return TinyTransformer().train()


def test_capture_returns_every_node_output_and_leaves_model_as_it_was(cnn):
    x = torch.rand(5, 1, 8, 8)
    with torch.no_grad():
        before = cnn.eval()(x)
    cnn.train()
    acts = capture_activations(cnn, (x,))
    assert {k: tuple(v.shape) for k, v in acts.items()} == {
        "conv": (5, 4, 8, 8), "relu": (5, 4, 8, 8), "flat": (5, 256), "fc": (5, 3)}
    assert cnn.training, "the caller's training flag must come back"
    assert all(not m._forward_hooks for m in cnn.modules()), "hooks must be removed"
    assert torch.equal(acts["fc"], before)


def test_feature_maps_and_filters_have_channel_shapes(cnn):
    maps = feature_maps(cnn, (torch.rand(2, 1, 8, 8),), "conv")
    assert maps.shape == (4, 8, 8)
    node, filters = first_layer_filters(cnn)
    assert node == "conv" and filters.shape == (4, 1, 3, 3)
    with pytest.raises(ValueError, match="'flat' outputs"):
        feature_maps(cnn, (torch.rand(2, 1, 8, 8),), "flat")


def test_dead_relu_fraction_counts_units_silent_on_every_sample(cnn):
    with torch.no_grad():
        cnn.conv.bias[:2] = -100.0  # two channels can never fire on inputs in [0, 1] ...
        cnn.conv.bias[2:] = 100.0  # ... and two always do
    stats = {row["node"]: row for row in activation_stats(cnn, (torch.rand(6, 1, 8, 8),))}
    assert stats["relu"]["dead_fraction"] == 0.5
    assert stats["conv"]["dead_fraction"] is None


def test_attention_maps_match_torch_and_are_row_stochastic(transformer):
    tokens = torch.randint(0, 20, (3, 7))
    with torch.no_grad():
        expected_out = transformer.eval()(tokens)
        embedded = transformer.embed(tokens)
        _, direct = transformer.encoder.self_attn(embedded, embedded, embedded, need_weights=True,
                                                  average_attn_weights=False)
    transformer.train()
    maps = attention_maps(transformer, (tokens,))
    assert list(maps) == ["encoder"]
    weights = maps["encoder"]
    assert weights.shape == (4, 7, 7)
    assert torch.allclose(weights.sum(dim=-1), torch.ones(4, 7), atol=1e-5)
    assert torch.allclose(weights, direct[0], atol=1e-6)
    assert transformer.training
    with torch.no_grad():
        after = transformer.eval()(tokens)
    assert torch.allclose(after, expected_out, atol=1e-6), "probing must not change outputs"


def test_saliency_has_input_shape_and_leaves_parameter_grads_alone(cnn, transformer):
    x = torch.rand(3, 1, 8, 8)
    assert saliency(cnn, x).shape == (1, 8, 8)
    assert integrated_gradients(cnn, x).shape == (1, 8, 8)
    assert saliency(transformer, torch.randint(0, 20, (2, 7))).shape == (7,)
    assert all(p.grad is None for p in [*cnn.parameters(), *transformer.parameters()])


def test_integrated_gradients_complete_to_the_score_difference(cnn):
    # Completeness: attributions (signed) sum to f(x) - f(0); checked loosely on the |.| version.
    x = torch.rand(1, 1, 8, 8)
    attributions = integrated_gradients(cnn, x, target=1, steps=64)
    with torch.no_grad():
        gap = (cnn.eval()(x)[0, 1] - cnn(torch.zeros_like(x))[0, 1]).abs().item()
    assert attributions.sum().item() >= gap * 0.9


def test_classification_summary_counts_and_orders_mistakes():
    class Fixed(nn.Module):  # predicts class 0 with rising confidence, whatever the input
        def forward(self, x):
            return torch.stack([x[:, 0], torch.zeros_like(x[:, 0])], dim=1)

    x = torch.tensor([[1.0], [2.0], [3.0], [4.0]])
    y = torch.tensor([0, 1, 1, 0])
    summary = classification_summary(Fixed(), x, y)
    assert summary["confusion"].tolist() == [[2, 0], [2, 0]]
    assert summary["accuracy"] == 0.5
    assert [m["index"] for m in summary["mistakes"]] == [2, 1]
    assert summary["per_class_accuracy"].tolist() == [1.0, 0.0]


def test_feature_maps_of_a_compiled_template_have_the_inferred_shapes():
    from builder import compile_graph, validate
    from builder.templates import load_template

    graph = load_template("cnn_seed")
    report = validate(graph)
    model = compile_graph(graph)
    acts = capture_activations(model, (torch.rand(2, 1, 28, 28),))
    assert set(acts) == {node.id for node in graph.nodes}
    for node_id, act in acts.items():
        assert tuple(act.shape[1:]) == tuple(report.nodes[node_id].output_shape), node_id


def test_attention_maps_of_the_transformer_template_are_keyed_by_the_node_inside_its_block():
    from builder import compile_graph
    from builder.templates import load_template

    model = compile_graph(load_template("transformer_text"))  # EncoderBlock 'encoder', repeat 2
    maps = attention_maps(model, (torch.randint(1, 100, (2, 16)),))
    assert list(maps) == ["encoder.0.attention", "encoder.1.attention"]
    for weights in maps.values():
        assert weights.shape[1:] == (16, 16)
        assert torch.allclose(weights.sum(dim=-1), torch.ones(weights.shape[:2]), atol=1e-5)


def test_probes_reach_the_layers_inside_a_block():
    """A student picks the convolution inside resnet_small's BasicBlock, not only the block."""
    from builder import compile_graph
    from builder.templates import load_template

    model = compile_graph(load_template("resnet_small"))
    acts = capture_activations(model, (torch.rand(2, 1, 28, 28),))
    assert "layer1" not in acts and "layer1.x" not in acts  # the block gives way to its layers
    assert list(acts)[4:7] == ["layer1.conv1", "layer1.bn1", "layer1.relu1"]
    assert acts["layer1.conv1"].shape == (2, 16, 28, 28)
    assert feature_maps(model, (torch.ones(1, 1, 28, 28),), "layer1.conv2").shape == (16, 28, 28)
