"""Issue #12, case 1: every model evaluation the server runs for a user fits a memory budget
computed by shape inference before anything is allocated, or is refused with a message."""
import gc
import weakref

import pytest
import torch

from builder import GraphError, compile_graph
from builder.export import export_pt2
from trainers import probes
from trainers.eval_budget import EvalTooLarge, guard, rows_that_fit, sample_bytes
from trainers.limits import MB, Limits

GRID_POINTS = 3_600  # the decision boundary's 60 x 60 grid
BUDGET = 64 * MB


def wide_moons_graph(width: int = 50_000, inputs: int = 2) -> dict:
    """Moons with Linear(2 -> 50,000): accepted for training (51 MB at batch 64)."""
    return {"name": "wide", "nodes": [
        {"id": "x", "type": "Input", "params": {"shape": [inputs]}},
        {"id": "wide", "type": "Linear", "params": {"out_features": width}},
        {"id": "act", "type": "ReLU", "params": {}},
        {"id": "out", "type": "Linear", "params": {"out_features": 2}}],
        "edges": [{"source": "x", "target": "wide"}, {"source": "wide", "target": "act"},
                  {"source": "act", "target": "out"}]}


def chunk_rows(model) -> list[int]:
    """The batch size of every forward the model runs from now on."""
    seen = []
    model.register_forward_pre_hook(lambda _m, args: seen.append(len(args[0])))
    return seen


def test_the_wide_moons_model_is_accepted_for_training():
    report = compile_graph(wide_moons_graph()).report
    assert Limits().check_run(report, dataset_size=700, epochs=10, batch_size=64) == []


def test_decision_boundary_grid_is_evaluated_in_chunks_within_the_budget():
    model = compile_graph(wide_moons_graph())
    guard(model, budget=BUDGET)
    seen = chunk_rows(model)
    grid = torch.rand(GRID_POINTS, 2)
    predicted = probes.predict_proba(model, grid).argmax(dim=1)
    assert predicted.shape == (GRID_POINTS,)
    assert sum(seen) == GRID_POINTS and len(seen) > GRID_POINTS // 512
    assert max(seen) * sample_bytes(model) <= BUDGET


def test_guard_refuses_an_unchunked_forward_before_allocating():
    model = guard(compile_graph(wide_moons_graph()), budget=BUDGET)
    with pytest.raises(EvalTooLarge, match=r"3,600 samples .*1,373.3 MB.*LAYERLOOM_EVAL_MEMORY_MB"):
        with torch.no_grad():
            model(torch.rand(GRID_POINTS, 2))
    with torch.no_grad():  # the refusal released its slot: later forwards still run
        assert model(torch.rand(4, 2)).shape == (4, 2)


def test_a_guarded_model_goes_as_soon_as_the_page_lets_go_of_it():
    """Not when the cyclic collector next runs: a wide student's Inspect or boundary page made
    one such 20 MB model per page run, and they piled up between collections."""
    model = guard(compile_graph(wide_moons_graph(width=1_000)), budget=BUDGET)
    with torch.no_grad():
        model(torch.rand(4, 2))
    gone = weakref.ref(model)
    collecting = gc.isenabled()
    gc.disable()
    try:
        del model
        assert gone() is None
    finally:
        if collecting:
            gc.enable()


def test_gradients_count_twice():
    model = compile_graph(wide_moons_graph())
    per_sample = sample_bytes(model)
    assert rows_that_fit(model, 10_000, budget=BUDGET) == BUDGET // per_sample
    assert rows_that_fit(model, 10_000, grad=True, budget=BUDGET) == BUDGET // (2 * per_sample)


def test_one_sample_that_cannot_fit_is_refused_with_a_message():
    model = compile_graph(wide_moons_graph())
    with pytest.raises(EvalTooLarge, match="one sample of this model needs about 0.4 MB"):
        rows_that_fit(model, 1, budget=100_000)


def test_kept_activations_are_capped_by_the_budget():
    """Inspect keeps every node's output for its statistics: 128 samples only when they fit."""
    model = compile_graph(wide_moons_graph())
    assert rows_that_fit(model, 128, budget=BUDGET) == 128
    narrow_budget = 20 * sample_bytes(model)
    assert rows_that_fit(model, 128, budget=narrow_budget) == 20


def test_export_obeys_the_model_limits(tmp_path):
    huge = wide_moons_graph(width=7_000, inputs=7_000)  # 49M parameters, 5x the default limit
    with pytest.raises(GraphError, match="49,021,002 parameters; the limit here is 10,000,000"):
        export_pt2(huge, tmp_path / "m.pt2", max_params=Limits().max_params)
    assert not (tmp_path / "m.pt2").exists()


def test_export_obeys_the_activation_limit(tmp_path):
    with pytest.raises(GraphError, match="tracing a batch of 2 needs about"):
        export_pt2(wide_moons_graph(), tmp_path / "m.pt2", max_activation_bytes=MB // 2)


def test_compile_without_a_limit_refuses_what_no_machine_could_hold():
    absurd = wide_moons_graph(width=2**24)  # then Linear(2^24 -> 2^24): 2.8e14 parameters, 1.1 PB
    absurd["nodes"][-1]["params"]["out_features"] = 2**24
    with pytest.raises(GraphError, match="would have 281,474,993,487,872 parameters"):
        compile_graph(absurd)
    too_big_here = wide_moons_graph(width=2**18, inputs=2**18)  # 2^36 parameters: 256 GiB
    with pytest.raises(GraphError, match=r"256.0 GiB of weights\); this machine has .* GiB"):
        compile_graph(too_big_here)
