"""Attention calls with a mask import as the catalog layer with that mask (causal, or keys whose
token id is padding ignored) when it is proven equal to what the layer computes; any other mask
keeps the call op by op, with a report line naming the module and the reason."""
import pytest
import torch
from torch import nn

from builder.compile import compile_graph
from builder.importers import import_model

STEPS, VOCAB = 8, 40


class TinyGPT(nn.Module):
    """nanoGPT's shape in plain PyTorch: token embedding + a learned position table, causal
    encoder layers (torch's own mask, and is_causal), a Linear head over the vocabulary."""

    def __init__(self):
        super().__init__()
        self.tokens = nn.Embedding(VOCAB, 16)
        self.positions = nn.Parameter(torch.randn(STEPS, 16) * 0.1)
        layer = nn.TransformerEncoderLayer(16, 4, 32, dropout=0.0, batch_first=True)
        self.blocks = nn.TransformerEncoder(layer, num_layers=2, enable_nested_tensor=False)
        self.head = nn.Linear(16, VOCAB)

    def forward(self, ids):
        steps = ids.shape[1]
        h = self.tokens(ids) + self.positions[:steps]
        mask = nn.Transformer.generate_square_subsequent_mask(steps)
        return self.head(self.blocks(h, mask=mask, is_causal=True))


class PaddedAttention(nn.Module):
    """Self-attention that ignores padding tokens (id 0), from torch's key_padding_mask."""

    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(VOCAB, 16, padding_idx=0)
        self.att = nn.MultiheadAttention(16, 4, batch_first=True)

    def forward(self, ids):
        h = self.embed(ids)
        return self.att(h, h, h, key_padding_mask=ids == 0)[0]


def export(model, path, example):
    batch = {0: torch.export.Dim("batch", min=1, max=1024)}
    if path.suffix == ".pt2":
        torch.export.save(torch.export.export(model, (example,), dynamic_shapes=(batch,)), path)
    else:
        torch.onnx.export(model, (example,), str(path), dynamo=True, dynamic_shapes=(batch,),
                          external_data=False, verbose=False)


def imported(model, path, example):
    export(model, path, example)
    result = import_model(path)
    assert result.complete and result.weights_carried, result.to_text()
    twin = compile_graph(result.graph).eval()
    twin.load_state_dict(result.state_dict, strict=True)
    return result, twin


def attention_params(result) -> list[dict]:
    from builder.blocks import expand
    from builder.spec import Graph

    nodes = expand(Graph.model_validate(result.graph)).graph.nodes
    return [n.params for n in nodes if n.type in ("MultiheadAttention", "TransformerEncoderLayer")]


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_gpt_style_decoder_imports_causal_and_computes_the_same(fmt, tmp_path):
    torch.manual_seed(0)
    model = TinyGPT().eval()
    ids = torch.randint(1, VOCAB, (2, STEPS))
    result, twin = imported(model, tmp_path / f"gpt.{fmt}", ids)
    params = attention_params(result)
    assert len(params) == 2 and all(p.get("causal") is True for p in params), result.to_text()
    assert "PositionalEmbedding" in {n["type"] for n in result.graph["nodes"]}
    if fmt == "pt2":  # published weights need one rename, which the report names
        assert any("'positions' became PositionalEmbedding" in n for n in result.notes)
    assert sum(p.numel() for p in twin.parameters()) == sum(p.numel() for p in model.parameters())
    probe = torch.randint(1, VOCAB, (3, STEPS))
    with torch.no_grad():
        assert torch.allclose(twin(probe), model(probe), atol=1e-5)
        later = probe.clone()
        later[:, 5:] = torch.randint(1, VOCAB, (3, STEPS - 5))
        assert torch.equal(twin(later)[:, :5], twin(probe)[:, :5])  # the future is not seen


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_padding_mask_from_token_ids_imports_as_key_tokens(fmt, tmp_path):
    torch.manual_seed(0)
    model = PaddedAttention().eval()
    ids = torch.randint(1, VOCAB, (2, STEPS))
    result, twin = imported(model, tmp_path / f"pad.{fmt}", ids)
    assert attention_params(result) == [{"num_heads": 4, "bias": True, "padding_idx": 0}]
    ports = {e["port"] for e in result.graph["edges"] if e["target"] == "att"}
    assert ports == {0, 3}  # query, and the token ids on key_tokens
    probe = torch.randint(1, VOCAB, (3, STEPS))
    probe[0, 5:] = 0
    probe[1, ::2] = 0
    with torch.no_grad():
        assert torch.allclose(twin(probe), model(probe), atol=1e-5)


class RandomMask(nn.Module):
    """A mask LayerLoom has no layer for: it must not become a plain (or causal) attention."""

    def __init__(self, dtype):
        super().__init__()
        self.att = nn.MultiheadAttention(16, 4, batch_first=True)
        mask = torch.rand(STEPS, STEPS) > 0.5
        mask.fill_diagonal_(False)
        self.register_buffer("mask", mask if dtype == torch.bool else
                             torch.zeros(STEPS, STEPS).masked_fill(mask, -1e4))

    def forward(self, x):
        return self.att(x, x, x, attn_mask=self.mask, need_weights=False)[0]


class TimeFirst(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(16, 4)

    def forward(self, x):
        return self.att(x, x, x)[0]


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
@pytest.mark.parametrize("model,reason", [
    (RandomMask(torch.bool), "not the causal mask"),
    (RandomMask(torch.float32), "values other than 0 and -inf"),
    (TimeFirst(), "time-first")])
def test_a_mask_the_catalog_does_not_compute_keeps_the_call_op_by_op(model, reason, fmt, tmp_path):
    torch.manual_seed(0)
    export(model.eval(), tmp_path / f"m.{fmt}", torch.randn(2, STEPS, 16))
    result = import_model(tmp_path / f"m.{fmt}")
    assert "MultiheadAttention" not in {n["type"] for n in result.graph["nodes"]}
    if fmt == "pt2" or reason != "time-first":  # ONNX: a time-first call has no Transpose
        assert any(note.startswith("MultiheadAttention 'att' mapped op by op") and reason in note
                   for note in result.notes), result.notes
