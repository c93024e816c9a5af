"""Sequence layers (Embedding, LayerNorm, MultiheadAttention, LSTM, GRU) import from a plain
PyTorch model's .pt2 and ONNX files as the matching catalog layers, with their weights."""
from collections import Counter

import pytest
import torch
from torch import nn

from builder.compile import compile_graph
from builder.importers import import_model

EXPECTED = Counter({"Input": 1, "Embedding": 1, "LayerNorm": 1, "MultiheadAttention": 1,
                    "LSTM": 1, "GRU": 1, "Output": 2})


class SequenceModel(nn.Module):
    """Token ids -> embedding -> LayerNorm -> self-attention -> (stacked bidirectional LSTM, GRU)."""

    def __init__(self):
        super().__init__()
        self.emb = nn.Embedding(50, 16, padding_idx=0)
        self.norm = nn.LayerNorm(16)
        self.att = nn.MultiheadAttention(16, 4, batch_first=True)
        self.lstm = nn.LSTM(16, 8, num_layers=2, batch_first=True, bidirectional=True)
        self.gru = nn.GRU(16, 12, batch_first=True)

    def forward(self, tokens):
        h = self.norm(self.emb(tokens))
        h = self.att(h, h, h)[0]
        return self.lstm(h)[0], self.gru(h)[0]


def _export(model, path, fmt: str):
    tokens = torch.randint(0, 50, (2, 6))
    batch = {0: torch.export.Dim("batch", min=1, max=1024)}
    if fmt == "pt2":
        torch.export.save(torch.export.export(model, (tokens,), dynamic_shapes=(batch,)), path)
    else:
        torch.onnx.export(model, (tokens,), str(path), dynamo=True, dynamic_shapes=(batch,),
                          external_data=False, verbose=False)


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_sequence_layers_import_with_weights_and_compute_the_same(fmt, tmp_path):
    torch.manual_seed(0)
    model = SequenceModel().eval()
    _export(model, tmp_path / f"seq.{fmt}", fmt)
    result = import_model(tmp_path / f"seq.{fmt}")
    assert result.complete and result.weights_carried, result.to_text()
    assert Counter(n["type"] for n in result.graph["nodes"]) == EXPECTED
    params = {n["type"]: n["params"] for n in result.graph["nodes"]}
    assert params["MultiheadAttention"]["num_heads"] == 4
    assert params["LSTM"] == {"hidden_size": 8, "num_layers": 2, "bias": True,
                              "bidirectional": True}
    imported = compile_graph(result.graph).eval()
    imported.load_state_dict(result.state_dict, strict=True)
    assert sum(p.numel() for p in imported.parameters()) == sum(
        p.numel() for p in model.parameters())
    tokens = torch.randint(0, 50, (3, 6))
    for got, expected in zip(imported(tokens), model(tokens)):
        torch.testing.assert_close(got, expected, atol=1e-5, rtol=1e-4)


def test_lstm_whose_final_state_is_read_is_not_mapped_to_the_sequence_output(tmp_path):
    """`_, (h, c) = lstm(x)` reads the final state, which the catalog LSTM does not emit: the call
    is not turned into an LSTM node that would silently feed the whole sequence on."""

    class LastState(nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm = nn.LSTM(4, 8, batch_first=True)

        def forward(self, x):
            return self.lstm(x)[1][0][-1]

    program = torch.export.export(LastState().eval(), (torch.randn(2, 5, 4),))
    torch.export.save(program, tmp_path / "last.pt2")
    result = import_model(tmp_path / "last.pt2")
    assert "LSTM" not in {n["type"] for n in result.graph["nodes"]}
    assert any("lstm" in item.op for item in result.unmapped)


class MaskedAttention(nn.Module):
    def __init__(self):
        super().__init__()
        self.att = nn.MultiheadAttention(16, 4, batch_first=True)
        self.register_buffer("mask", torch.ones(6, 6, dtype=torch.bool).triu(1))

    def forward(self, x):
        return self.att(x, x, x, attn_mask=self.mask)[0]


class ConstantMask(MaskedAttention):
    """The mask as a plain attribute: torch.export lifts it as a constant, not a buffer."""

    def __init__(self):
        super().__init__()
        del self.mask
        self.mask = torch.ones(6, 6, dtype=torch.bool).triu(1)


class GivenState(nn.Module):
    def __init__(self):
        super().__init__()
        self.lstm = nn.LSTM(16, 8, batch_first=True)
        self.register_buffer("h0", torch.ones(1, 1, 8))

    def forward(self, x):
        state = self.h0.expand(1, x.shape[0], 8).contiguous()
        return self.lstm(x, (state, state))[0]


def _export_example(model, x, path):
    if path.suffix == ".pt2":
        torch.export.save(torch.export.export(model, (x,)), path)
    else:
        torch.onnx.export(model, (x,), str(path), dynamo=True, external_data=False)


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
@pytest.mark.parametrize("module", [MaskedAttention, ConstantMask])
def test_a_constant_causal_mask_maps_to_causal_attention_where_it_can_be_read(module, fmt, tmp_path):
    """The mask is torch's upper triangle: the call is the catalog's causal attention. A plain
    tensor attribute is pickled by torch.export, so LayerLoom cannot read (or prove) it there."""
    torch.manual_seed(0)
    model = module().eval()
    x = torch.randn(2, 6, 16)
    _export_example(model, x, tmp_path / f"m.{fmt}")
    result = import_model(tmp_path / f"m.{fmt}")
    if module is ConstantMask and fmt == "pt2":
        assert "MultiheadAttention" not in {n["type"] for n in result.graph["nodes"]}
        assert any("stored as a pickle" in note for note in result.notes), result.notes
        return
    assert [n["params"] for n in result.graph["nodes"] if n["type"] == "MultiheadAttention"] == [
        {"num_heads": 4, "bias": True, "causal": True}], result.to_text()
    twin = compile_graph(result.graph).eval()
    twin.load_state_dict(result.state_dict, strict=True)
    torch.testing.assert_close(twin(x), model(x), atol=1e-5, rtol=1e-4)


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_call_with_a_given_state_is_not_mapped_to_the_plain_layer(fmt, tmp_path):
    """The catalog layer would ignore the initial state: computing something else silently is
    worse than mapping the call op by op. (Masks: tests/test_import_masks.py.)"""
    torch.manual_seed(0)
    _export_example(GivenState().eval(), torch.randn(2, 6, 16), tmp_path / f"m.{fmt}")
    result = import_model(tmp_path / f"m.{fmt}")
    assert "LSTM" not in {n["type"] for n in result.graph["nodes"]}, result.to_text()


class TiedHead(nn.Module):
    def __init__(self):
        super().__init__()
        self.embed = nn.Embedding(30, 8)
        self.head = nn.Linear(8, 30, bias=False)
        self.head.weight = self.embed.weight

    def forward(self, tokens):
        return self.head(self.embed(tokens))


@pytest.mark.parametrize("fmt", ["pt2", "onnx"])
def test_a_tied_weight_is_reported_not_untied_silently(fmt, tmp_path):
    """The importer does not map a shared table to tie_weight yet: it computes the same, and
    the report says the shared table became two copies (more parameters, untied by training)."""
    model = TiedHead().eval()
    tokens = torch.randint(0, 30, (2, 5))
    _export_example(model, tokens, tmp_path / f"tied.{fmt}")
    result = import_model(tmp_path / f"tied.{fmt}")
    assert any("shared by several layers" in note for note in result.notes), result.notes
    twin = compile_graph(result.graph).eval()
    twin.load_state_dict(result.state_dict, strict=True)
    torch.testing.assert_close(twin(tokens), model(tokens))
