"""The newer catalog layers against torch: values, not only shapes (tests/test_builder_inference.py
checks every type's shape and parameter count), attention masks, and their error messages."""
import pytest
import torch
from torch import nn

from builder import apply_fix, compile_graph, validate
from tests.test_builder_inference import chain, only_problem

torch.set_num_threads(1)


def _run(graph, *inputs):
    torch.manual_seed(0)
    model = compile_graph(graph).eval()
    with torch.no_grad():
        return model, model(*inputs)


@pytest.mark.parametrize("layer_type,params,reference", [
    ("ReLU6", {}, lambda x: torch.clamp(x, 0, 6)),
    ("Hardtanh", {"min_val": -0.5, "max_val": 2.0}, lambda x: torch.clamp(x, -0.5, 2.0)),
    ("Hardswish", {}, lambda x: x * torch.clamp(x + 3, 0, 6) / 6),
    ("Hardsigmoid", {}, lambda x: torch.clamp(x + 3, 0, 6) / 6),
    ("Mish", {}, lambda x: x * torch.tanh(nn.functional.softplus(x))),
    ("GELU", {"approximate": "tanh"},
     lambda x: 0.5 * x * (1 + torch.tanh((2 / torch.pi) ** 0.5 * (x + 0.044715 * x ** 3)))),
    ("SiLU", {}, lambda x: x * torch.sigmoid(x)),
])
def test_activations_compute_their_formula(layer_type, params, reference):
    x = torch.linspace(-8, 8, 64).reshape(2, 32)
    _, out = _run(chain(("act", layer_type, params), shape=(32,)), x)
    torch.testing.assert_close(out, reference(x))


def test_permute_and_transpose_match_torch():
    x = torch.randn(2, 3, 4, 5)
    _, out = _run(chain(("p", "Permute", {"dims": [2, 3, 1]}), shape=(3, 4, 5)), x)
    assert torch.equal(out, x.permute(0, 2, 3, 1))
    _, out = _run(chain(("t", "Transpose", {"dim0": 1, "dim1": -1}), shape=(3, 4, 5)), x)
    assert torch.equal(out, x.transpose(1, 3))


def test_positional_embedding_adds_one_learned_row_per_position():
    model, out = _run(chain(("pos", "PositionalEmbedding", {"num_positions": 10}), shape=(6, 4)),
                      x := torch.randn(2, 6, 4))
    weight = model.node_module("pos").weight
    assert weight.shape == (10, 4) and torch.equal(out, x + weight[:6])


def test_parameter_node_adds_scales_and_prepends_a_class_token():
    x = torch.randn(2, 5, 4)
    model, out = _run(chain(("cls", "Parameter", {"shape": [1, 4], "combine": "prepend",
                                                  "init": "normal"}), shape=(5, 4)), x)
    token = model.node_module("cls").weight
    assert out.shape == (2, 6, 4) and torch.equal(out[:, 1:], x)
    assert torch.equal(out[:, 0], token[0].expand(2, 4))
    _, out = _run(chain(("scale", "Parameter", {"shape": [1, 4], "combine": "multiply",
                                                "init": "ones"}), shape=(5, 4)), x)
    assert torch.equal(out, x)


def _attention_graph(causal, steps=6, width=8, tokens=False):
    graph = chain(("emb", "Embedding", {"num_embeddings": 20, "embedding_dim": width}),
                  ("att", "MultiheadAttention", {"num_heads": 2, "causal": causal}),
                  shape=(steps,), dtype="long")
    if tokens:
        graph["edges"].append({"source": "x", "target": "att", "port": 3})
    return graph


def test_causal_attention_equals_torch_with_the_causal_mask_and_ignores_later_steps():
    model = compile_graph(_attention_graph(causal=True)).eval()
    ids = torch.randint(1, 20, (3, 6))
    with torch.no_grad():
        out = model(ids)
        embedded = model.node_module("emb")(ids)
        mask = nn.Transformer.generate_square_subsequent_mask(6)
        expected = model.node_module("att")(embedded, embedded, embedded, attn_mask=mask)[0]
        changed = ids.clone()
        changed[:, 4:] = (changed[:, 4:] + 7) % 20
        out_changed = model(changed)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out_changed[:, :4], out[:, :4])  # steps 0..3 never saw 4, 5
    assert not torch.allclose(out_changed[:, 4:], out[:, 4:])
    without_mask = compile_graph(_attention_graph(causal=False)).eval()
    without_mask.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(without_mask(changed)[:, :4], without_mask(ids)[:, :4])


def test_key_tokens_mask_padding_keys_like_torch_key_padding_mask():
    graph = _attention_graph(causal=False, tokens=True)
    report = validate(graph)
    assert report.valid, report.problems
    assert report.nodes["att"].inputs == ("emb", "emb", "emb", "x")
    model = compile_graph(graph).eval()
    ids = torch.tensor([[5, 6, 7, 0, 0, 0], [1, 2, 3, 4, 5, 0]])
    with torch.no_grad():
        out = model(ids)
        embedded = model.node_module("emb")(ids)
        expected = model.node_module("att")(embedded, embedded, embedded,
                                            key_padding_mask=ids == 0)[0]
    torch.testing.assert_close(out, expected)
    unmasked = compile_graph(_attention_graph(causal=False)).eval()
    unmasked.load_state_dict(model.state_dict())
    with torch.no_grad():
        assert not torch.allclose(unmasked(ids), out)


@pytest.mark.parametrize("graph,field,message", [
    (chain(("h", "Hardtanh", {"min_val": 1.0, "max_val": 1.0}), shape=(4,)), "max_val",
     "Hardtanh 'h': min_val (1.0) must be below max_val (1.0)"),
    (chain(("p", "Permute", {"dims": [1, 1, 2]}), shape=(3, 4, 5)), "dims",
     "Permute 'p' expects dims to list 1, 2, 3 in a new order (the batch, dim 0, stays first), "
     "received (3, 4, 5) with dims [1, 1, 2]"),
    (chain(("t", "Transpose", {"dim0": 0}), shape=(3, 4)), "dim0",
     "Transpose 't': dim0=0 is the batch dimension; use 1 for the first per-sample dim"),
    (chain(("pos", "PositionalEmbedding", {"num_positions": 4}), shape=(6, 8)), "num_positions",
     "PositionalEmbedding 'pos': num_positions (4) is less than the 6 steps it receives"),
    (chain(("cls", "Parameter", {"shape": [1, 5], "combine": "prepend"}), shape=(6, 8)), "shape",
     "Parameter 'cls' expects an input matching shape (1, 5) after dim 1, received (6, 8) with "
     "a learned (1, 5)"),
    (chain(("p", "MaxPool2d", {"kernel_size": 3, "ceil_mode": "yes"})), "ceil_mode",
     "MaxPool2d 'p': ceil_mode must be true or false, got 'yes'"),
])
def test_new_layers_name_what_is_wrong(graph, field, message):
    problem = only_problem(graph)
    assert (problem.field, problem.message) == (field, message)


def test_attention_masks_report_wrong_inputs():
    graph = chain(("q", "Linear", {"out_features": 8}), shape=(5, 4))
    graph["nodes"].append({"id": "att", "type": "MultiheadAttention",
                           "params": {"num_heads": 2, "causal": True}})
    graph["nodes"].append({"id": "kv", "type": "Input", "params": {"shape": [7, 8]}})
    graph["edges"] += [{"source": "q", "target": "att"},
                       {"source": "kv", "target": "att", "port": 1}]
    problem = only_problem(graph)
    assert problem.field == "causal" and "same number of steps when causal" in problem.message
    float_tokens = _attention_graph(causal=False)
    float_tokens["nodes"].append({"id": "ids", "type": "Input", "params": {"shape": [6]}})
    float_tokens["edges"].append({"source": "ids", "target": "att", "port": 3})
    problem = only_problem(float_tokens)
    assert "expects long token ids, received float values from 'ids'" in problem.message
    assert validate(apply_fix(float_tokens, problem.fix)).valid  # set ids' dtype to long
    wrong_length = _attention_graph(causal=False)
    wrong_length["nodes"].append({"id": "ids", "type": "Input",
                                  "params": {"shape": [5], "dtype": "long"}})
    wrong_length["edges"].append({"source": "ids", "target": "att", "port": 3})
    assert "expects key_tokens as (6,): one token id per key step, received (5,)" in \
        only_problem(wrong_length).message


def test_a_type_fix_never_silently_changes_the_layer():
    same = only_problem(chain(("a", "relu6", {}), shape=(4,)))
    assert same.fix.label == "Change type to ReLU6" and same.fix.value == "ReLU6"
    other = only_problem(chain(("a", "ReLU7", {}), shape=(4,)))
    assert other.fix.label == f"Replace with {other.fix.value} (a different layer)"
    assert "a different layer" in other.message


def test_causal_encoder_layer_with_key_tokens_equals_torch_with_both_masks():
    graph = chain(("emb", "Embedding", {"num_embeddings": 20, "embedding_dim": 8}),
                  ("enc", "TransformerEncoderLayer", {"nhead": 2, "dim_feedforward": 16,
                                                      "causal": True, "padding_idx": 3}),
                  shape=(6,), dtype="long")
    graph["edges"].append({"source": "x", "target": "enc", "port": 1})
    model = compile_graph(graph).eval()
    ids = torch.tensor([[5, 6, 7, 3, 3, 3], [1, 2, 4, 4, 5, 3]])
    with torch.no_grad():
        out = model(ids)
        embedded = model.node_module("emb")(ids)
        expected = model.node_module("enc")(
            embedded, src_mask=nn.Transformer.generate_square_subsequent_mask(6),
            src_key_padding_mask=ids == 3)
        changed = ids.clone()
        changed[:, 2:] = 9
        out_changed = model(changed)
    torch.testing.assert_close(out, expected)
    torch.testing.assert_close(out_changed[:, :2], out[:, :2])
