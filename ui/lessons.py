"""The lesson gallery: pick a lesson, run its pair of runs side by side, see whether its claim held.

A lesson (trainers.lessons) opens as a teacher's link does: its graph becomes the session's, and
its dataset, settings and locked controls go to the Train page. "Run both" queues all of its runs
on the server's job manager, labelled by what they stand for, and this page overlays their curves
and checks the lesson's claims on them once they have finished. A teacher's own lesson file
(the same format, docs/lessons.md) can be opened here for the session, and any lesson saved.
"""
from __future__ import annotations

import json
from urllib.parse import urlencode

import streamlit as st

from trainers.config import make_config
from trainers.devices import cuda_devices
from trainers.jobs import JobRefused
from trainers.lessons import Lesson, LessonError, list_lessons, parse_lesson
from ui import lesson as teacher_link
from ui import share
from ui.graph_input import GraphInputError
from ui.notices import notify
from ui.lesson_results import show_results
from ui.runs import Run, session_runs, start_run
from ui.state import set_graph
from ui.train_preset import adopt_lesson_start
from ui.text import escape_markdown

_OWN = "lessons.own"  # lessons opened from files this session, by id
_RUNS = "lessons.runs"  # lesson id -> the run numbers of its latest "Run both"
_PICKED = "lessons.picked"
_LINKED = "lessons.linked_token"  # the lesson link already taken this session
LINK_PARAM = "lesson_file"
MAX_LESSON_BYTES = 256 * 1024


def gallery_lessons() -> list[Lesson]:
    """The shipped lessons, then the ones this session opened from files."""
    return list_lessons() + list(st.session_state.get(_OWN, {}).values())


def pick_lesson(lessons: list[Lesson]) -> Lesson:
    """The lesson list (a radio, numbered); a `?lesson=ID` link picks one on the first run."""
    ids = [lesson.id for lesson in lessons]
    linked = st.query_params.get("lesson")
    if _PICKED not in st.session_state and linked in ids:
        st.session_state[_PICKED] = linked
    picked = st.radio("Lesson", ids, key=_PICKED, label_visibility="collapsed",
                      format_func=lambda i: f"{ids.index(i) + 1}. {lessons[ids.index(i)].title}")
    return lessons[ids.index(picked)]


def show_lesson(lesson: Lesson) -> None:
    """The lesson's buttons, then its runs overlaid (once started) above its text, so the charts
    stay in view on a projector; before any run, the text is open."""
    st.subheader(lesson.title)
    st.caption(escape_markdown(lesson.idea))
    runs_label = " vs ".join(run.label for run in lesson.runs)
    missing_gpu = bool(lesson.gpu_runs) and not cuda_devices()
    if missing_gpu:
        st.warning("This lesson compares the CPU with a GPU, and this server has no GPU, so its "
                   "runs cannot be trained here. Open it on a server with an NVIDIA GPU; "
                   "“Open on Build” still loads its network to train on the CPU.",
                   icon=":material/memory:")
    left, middle, right = st.columns(3)
    left.button("Run both" if len(lesson.runs) == 2 else f"Run all {len(lesson.runs)}",
                type="primary", key=f"lessons.run.{lesson.id}", on_click=_run_lesson,
                args=(lesson,), use_container_width=True, disabled=missing_gpu,
                help=f"Trains {runs_label} side by side with the lesson's settings.")
    middle.button("Open on Build", key=f"lessons.open.{lesson.id}", on_click=_open_lesson,
                  args=(lesson, lesson.runs[0].name), use_container_width=True,
                  help=f"Loads the “{lesson.runs[0].label}” network with the lesson's dataset and "
                       "settings (locked where the lesson needs them), to edit and train by hand.")
    with right.popover("Save or share", use_container_width=True):
        st.download_button("Save lesson file", lesson_json(lesson), f"{lesson.id}.json",
                           "application/json", key=f"lessons.save.{lesson.id}")
        st.caption("A link that opens this lesson:")
        st.code(lesson_link(lesson), language=None, wrap_lines=True)
    lesson_runs = _lesson_runs(lesson)
    if lesson_runs:
        show_results(lesson, _lesson_runs)
    with st.expander("About this lesson", expanded=not lesson_runs):
        st.markdown(f"**Question.** {escape_markdown(lesson.question)}  \n"
                    f"**The one change.** {escape_markdown(lesson.change)}  \n"
                    f"**Look for.** {escape_markdown(lesson.look_for)}")
        st.markdown("**What it promises** (checked when the runs finish):\n"
                    + "\n".join(f"- {escape_markdown(claim.text)}" for claim in lesson.claims))


def open_lesson_file() -> None:
    """An uploader for a teacher's own lesson file; a bad file is explained and nothing changes."""
    uploaded = st.file_uploader("Open a lesson file", type=["json"], key="lessons.upload",
                                help="A lesson saved from this page, or written by hand "
                                     "(the format is in docs/lessons.md).")
    if uploaded is not None:
        _add_own_lesson(uploaded.getvalue(), f"The file “{uploaded.name}”")


def open_lesson_link() -> None:
    """A teacher's own lesson carried in the link (`?lesson_file=TOKEN`), taken once a session."""
    token = st.query_params.get(LINK_PARAM)
    if token and st.session_state.get(_LINKED) != token:
        st.session_state[_LINKED] = token
        try:
            data = share.unpack_token(token)
        except GraphInputError as error:
            st.error(f"The lesson in this link was not opened: {escape_markdown(str(error))}")
            return
        _add_own_lesson(data, "The lesson link")


def lesson_link(lesson: Lesson) -> str:
    """This page's address opening `lesson`: by id for a shipped lesson, else the whole lesson."""
    base = (st.context.url or "").split("?")[0]
    if lesson in list_lessons():
        return f"{base}?{urlencode({'lesson': lesson.id})}"
    return f"{base}?{urlencode({LINK_PARAM: share.encode_graph(json.loads(lesson_json(lesson)))})}"


def _add_own_lesson(data: bytes, source: str) -> None:
    try:
        if len(data) > MAX_LESSON_BYTES:
            raise LessonError(f"it is {len(data):,} bytes; a lesson has at most {MAX_LESSON_BYTES:,}")
        lesson = parse_lesson(json.loads(data), source)
    except (LessonError, ValueError, RecursionError) as error:
        st.error(f"{source} was not opened as a lesson: {escape_markdown(str(error))}")
        return
    own = st.session_state.setdefault(_OWN, {})
    if own.get(lesson.id) != lesson:
        own[lesson.id] = lesson
        st.session_state[_PICKED] = lesson.id
        st.rerun()


def lesson_json(lesson: Lesson) -> str:
    """The lesson as a file in the lesson format (graphs inline, so the file stands alone)."""
    base_graph = lesson.graph
    return json.dumps({
        "id": lesson.id, "title": lesson.title, "idea": lesson.idea, "question": lesson.question,
        "change": lesson.change, "look_for": lesson.look_for, "graph": base_graph,
        "dataset": lesson.dataset, "dataset_options": lesson.dataset_options,
        "settings": lesson.settings,
        "runs": {run.name: {"label": run.label, **({"graph": run.graph} if run.graph else {}),
                            "set_type": run.set_type, "set_params": run.set_params,
                            "settings": run.settings} for run in lesson.runs},
        "claims": [{"text": c.text, "left": _measure(c.left), "op": c.op, "factor": c.factor,
                    "right": _measure(c.right)} for c in lesson.claims],
        "locked": list(lesson.locked), "hidden": list(lesson.hidden)}, indent=1)


def _measure(measure) -> dict:
    return {key: value for key, value in vars(measure).items() if value is not None}


def _run_lesson(lesson: Lesson) -> None:
    """Queue every run of the lesson (a callback: no click is lost to a rerun)."""
    numbers = {}
    try:
        for variant in lesson.runs:
            run = start_run(lesson.graph_for(variant.name), lesson.dataset, lesson.dataset_options,
                            make_config(**lesson.settings_for(variant.name)), label=variant.label)
            numbers[variant.name] = run.number
    except JobRefused as refused:
        notify("error", "The server did not start this lesson's runs: " + "; ".join(refused.reasons))
        for run in session_runs():  # the runs already queued would be a half experiment
            if run.number in numbers.values():
                run.job.stop()
        return
    st.session_state.setdefault(_RUNS, {})[lesson.id] = numbers


def _lesson_runs(lesson: Lesson) -> dict[str, Run]:
    """The runs of the lesson's latest "Run both", while the session still keeps all of them."""
    numbers = st.session_state.get(_RUNS, {}).get(lesson.id, {})
    by_number = {run.number: run for run in session_runs()}
    runs = {name: by_number.get(number) for name, number in numbers.items()}
    return runs if runs and all(runs.values()) else {}


def _open_lesson(lesson: Lesson, run_name: str) -> None:
    """The lesson as a teacher's link: its graph, dataset, settings and locks; then Build."""
    set_graph(lesson.graph_for(run_name))
    adopt_lesson_start()
    teacher_link.adopt_lesson(teacher_link.Lesson(
        title=lesson.title, note=f"{lesson.question} Change: {lesson.change}",
        dataset=lesson.dataset, dataset_options=dict(lesson.dataset_options),
        settings=lesson.settings_for(run_name),
        locked=frozenset(lesson.locked) & set(teacher_link.CONTROLS),
        hidden=frozenset(lesson.hidden) & set(teacher_link.CONTROLS)))
    notify("success", f"Opened the lesson “{lesson.title}”. Its dataset and settings are set on "
                      "the Train page.")
    st.session_state["lessons.go_build"] = True
