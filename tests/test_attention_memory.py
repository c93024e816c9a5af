"""Issue #12: the activation memory shape inference reports (what the server's evaluation budget
and the training limit count) includes attention's weight matrices, heads x steps x steps per
sample, which outgrow a long sequence's output many times over."""
import torch

from builder import compile_graph, validate
from trainers.eval_budget import rows_that_fit

STEPS, WIDTH, HEADS = 512, 32, 8
FLOAT = 4


def sequence_graph(layer: str, params: dict) -> dict:
    return {"name": "attention", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [STEPS, WIDTH]}},
        {"id": "attn", "type": layer, "params": params}],
        "edges": [{"source": "x", "target": "attn"}]}


def attention_weights_bytes() -> int:
    return HEADS * STEPS * STEPS * FLOAT  # 8 MiB a sample, against the output's 64 KiB


def test_multihead_attention_counts_its_weight_matrices():
    info = validate(sequence_graph("MultiheadAttention", {"num_heads": HEADS})).nodes["attn"]
    assert info.activation_bytes >= attention_weights_bytes() + STEPS * WIDTH * FLOAT


def test_transformer_encoder_layer_counts_its_weights_and_feed_forward():
    graph = sequence_graph("TransformerEncoderLayer", {"nhead": HEADS, "dim_feedforward": 256})
    info = validate(graph).nodes["attn"]
    assert info.activation_bytes >= attention_weights_bytes() + STEPS * 256 * FLOAT


def test_the_evaluation_budget_sizes_attention_batches_by_their_weights():
    model = compile_graph(sequence_graph("MultiheadAttention", {"num_heads": HEADS}))
    budget = 64 * 2**20
    rows = rows_that_fit(model, 512, budget=budget)
    assert rows * attention_weights_bytes() <= budget  # 7 samples, not the 512 counted before
    with torch.no_grad():  # and a batch of that size really runs
        assert model(torch.rand(rows, STEPS, WIDTH)).shape == (rows, STEPS, WIDTH)
