"""Teacher mode: one link opens LayerLoom on an exercise, with chosen controls hidden or locked.

In the spirit of TensorFlow Playground, the link is readable and editable by hand; every part is
optional and each is checked like any other untrusted input:

    http://HOST:8501/?graph=TOKEN&dataset=moons&optimizer=sgd&lr=0.03&epochs=30
        &lock=dataset,optimizer&hide=templates,files&title=Why+momentum+helps

- `graph`: a share-link token (the Build page's "Share link"); the exercise's network.
- `dataset`: a catalog dataset, and `data.OPTION=VALUE` its options (`data.gap=19`); any TrainConfig field (`optimizer`, `lr`, `epochs`, ...): the
  settings the Train page starts from.
- `lock=a,b`: shown but not changeable; `hide=a,b`: not shown at all (names in CONTROLS).
- `title`, `note`: shown at the top of every page (as plain text).

The lesson is read once, on the session's first run, and kept in the session, so it survives
moving between pages after the URL's query is gone. Whatever is wrong in a link is reported and
skipped; the rest of the lesson still applies.
"""
from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field

import streamlit as st

from trainers.config import ConfigError, TrainConfig, make_config
from trainers.datasets import DatasetError, dataset_info, list_datasets
from trainers.datasets.catalog import resolve_options
from ui.text import escape_markdown

SETTING_FIELDS = tuple(TrainConfig.model_fields)
BUILD_CONTROLS = {"templates": "the templates gallery", "files": "saving, loading and uploading graphs",
                  "export": "code and model export", "share": "the share link"}
CONTROLS = {"dataset": "the dataset picker", **{name: f"the {name} setting" for name in SETTING_FIELDS},
            **BUILD_CONTROLS}
MAX_TEXT = 300  # characters of title/note shown; a link is no place for an essay
DATA_PREFIX = "data."  # `data.gap=19`: an option of the link's dataset
_LESSON = "layerloom.lesson"
_LESSON_PROBLEMS = "layerloom.lesson_problems"


@dataclass(frozen=True)
class Lesson:
    title: str = ""
    note: str = ""
    dataset: str | None = None
    dataset_options: dict = field(default_factory=dict)  # for `dataset` (a gallery lesson's)
    settings: dict = field(default_factory=dict)  # validated TrainConfig values by field
    hidden: frozenset = frozenset()
    locked: frozenset = frozenset()

    def to_params(self) -> dict[str, str]:
        """The query parameters that describe this lesson (the graph token is added separately)."""
        params = {"title": self.title, "note": self.note, "dataset": self.dataset or "",
                  **{DATA_PREFIX + name: value if isinstance(value, str) else json.dumps(value)
                     for name, value in self.dataset_options.items()},
                  **{name: str(value) for name, value in self.settings.items()},
                  "hide": ",".join(sorted(self.hidden)), "lock": ",".join(sorted(self.locked))}
        return {name: value for name, value in params.items() if value}


def parse_lesson(params: Mapping[str, str]) -> tuple[Lesson | None, list[str]]:
    """The lesson a link's query parameters describe (None if they describe none), and a message
    for each part that was wrong and skipped."""
    problems: list[str] = []
    known = {"title", "note", "dataset", "hide", "lock", *SETTING_FIELDS}
    if not known & set(params) and not any(name.startswith(DATA_PREFIX) for name in params):
        return None, problems
    settings = {}
    for name in SETTING_FIELDS:
        if name in params:
            try:
                settings[name] = getattr(make_config(**{name: params[name]}), name)
            except ConfigError as error:
                problems.append(f"'{name}={params[name][:40]}' was ignored: {error}")
    dataset = params.get("dataset") or None
    names = [info.name for info in list_datasets()]
    if dataset is not None and dataset not in names:
        problems.append(f"dataset '{dataset[:40]}' is not one LayerLoom knows (try one of: "
                        f"{', '.join(names[:8])}, ...); the dataset was left to choose.")
        dataset = None
    return Lesson(title=params.get("title", "")[:MAX_TEXT], note=params.get("note", "")[:MAX_TEXT],
                  dataset=dataset, dataset_options=_dataset_options(dataset, params, problems),
                  settings=settings,
                  hidden=_control_names(params.get("hide", ""), "hide", problems),
                  locked=_control_names(params.get("lock", ""), "lock", problems)), problems


def _dataset_options(dataset: str | None, params: Mapping[str, str], problems: list[str]) -> dict:
    """The link's `data.*` options, each checked against the dataset's own; a bad one is named
    and skipped (the dataset then uses its default for it)."""
    given = {name[len(DATA_PREFIX):]: text for name, text in params.items() if name.startswith(DATA_PREFIX)}
    if given and dataset is None:
        problems.append(f"dataset options ({', '.join(given)[:80]}) were ignored: the link names no known "
                        "dataset they belong to (add dataset=...).")
        return {}
    options = {}
    for name, text in given.items():
        try:
            options[name] = resolve_options(dataset_info(dataset), {name: _plain_value(text)})[name]
        except DatasetError as error:
            problems.append(f"'{DATA_PREFIX}{name[:40]}={text[:40]}' was ignored: {error}")
    return options


def _plain_value(text: str):
    """A number or true/false as typed in a link ("19", "0.5", "true"), else the text itself."""
    try:
        value = json.loads(text)
    except ValueError:
        return text
    return value if isinstance(value, (int, float, bool)) else text


def _control_names(listed: str, what: str, problems: list[str]) -> frozenset:
    names = {name.strip() for name in listed.split(",") if name.strip()}
    unknown = sorted(names - set(CONTROLS))
    if unknown:
        problems.append(f"'{what}' names controls LayerLoom does not have: {', '.join(unknown)[:120]} "
                        f"(known: {', '.join(CONTROLS)[:200]}...)")
    return frozenset(names & set(CONTROLS))


def adopt_lesson_from_url() -> None:
    """On the session's first run, take the lesson the URL describes (if any) into the session."""
    if _LESSON in st.session_state:
        return
    lesson, problems = parse_lesson(st.query_params.to_dict())
    st.session_state[_LESSON] = lesson
    st.session_state[_LESSON_PROBLEMS] = problems


def adopt_lesson(lesson: Lesson) -> None:
    """Make `lesson` the session's, as a link would (the gallery opening one of its lessons)."""
    st.session_state[_LESSON] = lesson
    st.session_state[_LESSON_PROBLEMS] = []


def current_lesson() -> Lesson | None:
    return st.session_state.get(_LESSON)


def is_hidden(control: str) -> bool:
    lesson = current_lesson()
    return lesson is not None and control in lesson.hidden


def is_locked(control: str) -> bool:
    lesson = current_lesson()
    return lesson is not None and control in lesson.locked


def lesson_settings() -> dict:
    """The settings the lesson starts the Train page from (empty without a lesson)."""
    lesson = current_lesson()
    return dict(lesson.settings) if lesson else {}


def show_lesson_banner() -> None:
    """The lesson's title and note, and what in its link was skipped, as plain text."""
    lesson = current_lesson()
    if lesson and (lesson.title or lesson.note):
        title = f"**{escape_markdown(lesson.title)}**  \n" if lesson.title else ""
        st.info(title + escape_markdown(lesson.note), icon=":material/school:")
    for problem in st.session_state.get(_LESSON_PROBLEMS, []):
        st.warning(f"Part of this lesson link was skipped: {escape_markdown(problem)}")
