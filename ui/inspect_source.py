"""What the Inspect page looks at: which run (its latest good weights), its data, which sample."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import streamlit as st
import torch
from torch import nn

from trainers.datasets import DatasetBundle, DatasetError, load_dataset
from trainers import probes
from trainers.eval_budget import EvalTooLarge, guard, rows_that_fit
from trainers.probes import predict_proba
from ui.kept_widgets import following
from ui.runs import Run, session_runs
from ui.text import escape_markdown

SAMPLE_MODES = ("By index", "By class", "Random", "A mistake")
PAD_ID = 0  # the token id every text dataset pads with
_RANDOM = "inspect.random"  # the "Random" mode's draw (modulo the test split's size)


@dataclass
class Subject:
    """A run's model (a CPU snapshot, safe to probe while it trains) and its test data."""
    run: Run
    model: nn.Module
    x: torch.Tensor  # the test split's inputs
    y: torch.Tensor
    class_names: list[str] | None
    vocab: dict[int, str] | None
    feature_names: list[str] | None  # a CSV's columns

    @property
    def task(self) -> str:
        return self.run.config.task

    @property
    def is_image(self) -> bool:
        return self.x.dim() == 4 and self.x.shape[1] in (1, 3)

    @property
    def is_tokens(self) -> bool:
        return not self.x.is_floating_point()

    @property
    def kind(self) -> str:
        """How one example is drawn: "image", "tokens", "table" (a row of features) or "sequence"."""
        if self.is_image:
            return "image"
        if self.is_tokens:
            return "tokens"
        return "table" if self.x.dim() == 2 else "sequence"

    def inputs(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """The model's inputs for a batch of examples (a GAN graph also reads generator noise)."""
        return probes.model_inputs(self.model, x)

    def class_name(self, index: int) -> str:
        return self.class_names[index] if self.class_names else str(index)

    def tokens(self, index: int) -> list[str]:
        return [(self.vocab or {}).get(int(t), str(int(t))) for t in self.x[index]]

    def word_positions(self, index: int) -> list[int]:
        """Positions of real tokens: id 0 is the padding that fills a sequence up to its length."""
        return [int(i) for i in (self.x[index] != PAD_ID).nonzero().flatten()]


def choose_run() -> Run | None:
    """A run of this session (the newest first), or None with a pointer to the Train page."""
    runs = session_runs()
    if not runs:
        st.info("Nothing to look inside yet: train a model on the Train page first. "
                "Every view here works on a run's latest weights, even while it is training.")
        st.page_link("pages/train.py", label="Go to Train", icon=":material/monitoring:")
        return None
    by_number = {run.number: run for run in runs}  # widget options are copied: keep them plain
    # Labels that never change (no status, no lr changed on resume): the browser keeps a keyed
    # selectbox's first labels and sends back the one shown. The page shows the status beneath.
    number = st.selectbox("Run", list(by_number)[::-1],
                          key=following("inspect.run", runs[-1].number, by_number),
                          format_func=lambda n: f"{by_number[n].started_as} · {by_number[n].dataset}")
    return by_number[number]


def load_subject(run: Run) -> Subject | None:
    """The run's model with its latest good weights, and the test split it is measured on."""
    model = run.job.model_snapshot()
    if model is None:
        st.info(f"{run.name} has no weights yet ({run.job.status}); they appear after its first steps.")
        return None
    try:  # every probe below runs in the server: each forward is checked against its budget
        rows_that_fit(guard(model), 1)
    except EvalTooLarge as refusal:
        st.warning(escape_markdown(f"{run.name} is too large to inspect on this server. {refusal}"))
        return None
    try:
        bundle = _run_data(run.dataset, tuple(sorted(run.dataset_options.items())), run.config.seed)
    except DatasetError as error:
        st.error(escape_markdown(f"{run.name}'s data could not be loaded again: {error}"))
        return None
    return Subject(run=run, model=model, x=bundle.x_test, y=bundle.y_test,
                   class_names=bundle.class_names, vocab=bundle.vocab, feature_names=bundle.feature_names)


@st.cache_resource(show_spinner="Loading the run's test split…", max_entries=8)
def _run_data(name: str, options: tuple, seed: int) -> DatasetBundle:
    """The data exactly as the run saw it. Splits (and generated datasets) follow the seed, so the
    Train page's preview copy, loaded with seed 0, holds other test examples than a seed-7 run's."""
    return load_dataset(name, seed=seed, **dict(options))


def choose_sample(subject: Subject) -> int:
    """The test example to look at: by index, by class, at random, or one the model gets wrong."""
    modes = SAMPLE_MODES if subject.task == "classification" else SAMPLE_MODES[::2]
    how, which = st.columns(2)  # side by side: a projector's 720 px keep room for the views
    mode = how.segmented_control("Pick a test example", modes, default=modes[0],
                                 key="inspect.mode") or modes[0]
    with which:
        return _pick(subject, mode)


def _pick(subject: Subject, mode: str) -> int:
    count = len(subject.x)
    if mode == "By class":
        wanted = st.selectbox("Class", range(_class_count(subject)),
                              format_func=subject.class_name, key="inspect.class")
        candidates = np.flatnonzero(subject.y.numpy() == wanted)
        return _pick_from(candidates, f"class {subject.class_name(wanted)}", count)
    if mode == "Random":
        st.button("Another one", icon=":material/casino:", key="inspect.reroll", on_click=_reroll)
        return st.session_state.setdefault(_RANDOM, 0) % count
    if mode == "A mistake":
        predicted = predict_proba(subject.model, subject.x).argmax(dim=1).numpy()
        return _pick_from(np.flatnonzero(predicted != subject.y.numpy()), "mistakes", count)
    return st.number_input("Index in the test split", 0, count - 1, 0, key="inspect.index")


def _reroll() -> None:
    st.session_state[_RANDOM] = int(np.random.default_rng().integers(2**31))


def _class_count(subject: Subject) -> int:
    return len(subject.class_names) if subject.class_names else int(subject.y.max()) + 1


def _pick_from(candidates: np.ndarray, what: str, count: int) -> int:
    """One of `candidates` (test indices) chosen with a slider; index 0 when there are none."""
    if len(candidates) == 0:
        st.caption(f"No test examples among the {what}.")
        return 0
    if len(candidates) == 1:
        return int(candidates[0])
    position = st.slider(f"Which of the {len(candidates)} {what}", 1, len(candidates), 1,
                         key=f"inspect.pick.{what}")
    return int(candidates[position - 1])
