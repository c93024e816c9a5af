"""Issue #12: the live decision boundary's server CPU is bounded for a wide model. The grid is as
fine as a FLOP budget allows, and a page redraws only for new weights, at most every few seconds
while the run trains (the pages rerun every 1-3 s)."""
import pytest
import torch

from builder import compile_graph
from tests.test_eval_budget import wide_moons_graph
from trainers.eval_budget import BOUNDARY_FLOPS, BOUNDARY_SIDE, EvalTooLarge, boundary_side
from ui import boundary


def test_an_ordinary_model_gets_the_full_grid():
    assert boundary_side(compile_graph(wide_moons_graph(width=64))) == BOUNDARY_SIDE


def test_a_wide_model_gets_a_coarser_grid_within_the_flop_budget():
    model = compile_graph(wide_moons_graph(width=500_000))  # 2 M parameters, 4 MFLOP a point
    side = boundary_side(model)
    assert 10 <= side < BOUNDARY_SIDE
    assert side ** 2 * model.report.total_flops <= BOUNDARY_FLOPS


def test_a_model_too_costly_for_even_a_coarse_grid_is_refused_with_a_message():
    model = compile_graph(wide_moons_graph(width=50_000))
    with pytest.raises(EvalTooLarge, match=r"GFLOP.*10x10 grid.*Shrink the widest layers"):
        boundary_side(model, flops=model.report.total_flops * 99)


class FakeJob:
    """A run's job: its latest weights, and how many model snapshots the page asked for."""

    def __init__(self, graph):
        self.graph, self.ended, self.snapshots, self.version = graph, False, 0, 1
        self.model = compile_graph(graph)
        self.latest = dict(self.model.state_dict())

    def has_weights(self):
        return True

    def weights_version(self):
        return self.version

    def model_snapshot(self):
        self.snapshots += 1
        model = compile_graph(self.graph)
        model.load_state_dict(self.latest)
        return model.eval()

    def new_weights(self):
        self.latest = {name: value + 0.01 for name, value in self.latest.items()}
        self.version += 1


class FakeRun:
    def __init__(self, job):
        self.job = job


def draw(run, store):
    points, labels = torch.rand(20, 2).numpy(), torch.randint(0, 2, (20,)).numpy()
    return boundary.boundary_figure(run, points, labels, None, key="b", store=store)


def test_the_page_redraws_only_for_new_weights_and_at_most_every_few_seconds(monkeypatch):
    clock = [1000.0]
    monkeypatch.setattr(boundary.time, "monotonic", lambda: clock[0])
    job, store = FakeJob(wide_moons_graph(width=16)), {}
    run = FakeRun(job)
    first = draw(run, store)
    assert job.snapshots == 1 and len(first.data[0].z) == BOUNDARY_SIDE
    clock[0] += 1.0
    assert draw(run, store) is first and job.snapshots == 1  # same weights: nothing recomputed
    job.new_weights()
    clock[0] += 1.0
    assert draw(run, store) is first and job.snapshots == 1  # new, but drawn 2 s ago
    clock[0] += boundary.REDRAW_S
    assert draw(run, store) is not first and job.snapshots == 2
    job.new_weights()
    job.ended = True  # the final weights are drawn at once
    draw(run, store)
    assert job.snapshots == 3
    draw(run, store)
    assert job.snapshots == 3


def test_the_page_keeps_no_old_weights_alive():
    import gc
    import weakref

    job, store = FakeJob(wide_moons_graph(width=16)), {}
    draw(FakeRun(job), store)
    drawn_weights = weakref.ref(job.latest["wide.weight"])
    job.new_weights()
    gc.collect()
    assert drawn_weights() is None  # 20 MB a wide student's page kept alive before


def test_another_run_is_drawn_afresh(monkeypatch):
    store = {}
    draw(FakeRun(FakeJob(wide_moons_graph(width=16))), store)
    other = FakeJob(wide_moons_graph(width=16))
    draw(FakeRun(other), store)
    assert other.snapshots == 1
