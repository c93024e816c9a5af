"""Where the Train page starts: the dataset, its options, the task and the settings.

A template is a lesson: loading one on the Build page makes the Train page come up with the
dataset, dataset options, task and recommended settings it declares (`builder.templates`),
dropping what the person had picked for the previous graph; picking another dataset by hand
afterwards works as always. A teacher's link (ui/lesson.py) starts the session from its own
values; the controls it locks or hides keep the lesson's value whatever template is loaded,
the others follow a template loaded after the link was opened.
"""
from __future__ import annotations

import streamlit as st

from builder.templates import TemplateInfo, list_templates
from trainers.config import TASKS, default_config
from ui.kept_widgets import forget, kept_keys
from ui.lesson import current_lesson, is_hidden, is_locked, lesson_settings
from ui.state import current_graph

_TEMPLATE_LOADED = "layerloom.template_loaded"  # the person loaded a template this session
# Settings that belong to the machine, not the lesson: a template load leaves them as chosen.
_MACHINE_SETTINGS = ("device", "amp", "compile")


def graph_template() -> TemplateInfo | None:
    """The template the session's graph started from (matched by name), or None."""
    graph_name = current_graph().get("name")
    return next((t for t in list_templates() if t.name == graph_name), None)


def start_dataset() -> str | None:
    """The dataset the picker starts on: the lesson's, else the graph's template's."""
    lesson, template = current_lesson(), graph_template()
    if lesson and lesson.dataset and (template is None or _lesson_wins("dataset")):
        return lesson.dataset
    return template.dataset if template else None


def start_options(dataset: str) -> dict:
    """The dataset options the lesson (where its dataset wins) or else the graph's template
    declares, when the picker is on that dataset."""
    lesson, template = current_lesson(), graph_template()
    if lesson and lesson.dataset == dataset and (template is None or _lesson_wins("dataset")):
        return dict(lesson.dataset_options)
    return dict(template.dataset_options) if template and template.dataset == dataset else {}


def start_task(fallback: str) -> str:
    """The lesson's task, else the template's, else `fallback` (what the data suggests)."""
    template, lesson_task = graph_template(), lesson_settings().get("task")
    if lesson_task and (template is None or _lesson_wins("task")):
        return lesson_task
    return template.task if template else fallback


def start_settings(task: str) -> dict:
    """TrainConfig fields over `task`'s defaults: the template's recommended settings (for the
    task it was made for), with the lesson's on top where the lesson wins."""
    template = graph_template()
    settings = dict(template.settings) if template and template.task == task else {}
    settings |= {name: value for name, value in lesson_settings().items()
                 if name != "task" and (template is None or _lesson_wins(name))}
    return settings


def adopt_template() -> None:
    """The person loaded a template: the Train page forgets the dataset, options, task and
    settings picked for the previous graph, so it comes up with the new template's."""
    st.session_state[_TEMPLATE_LOADED] = True
    forget(_is_selection_key)


def adopt_lesson_start() -> None:
    """A lesson was opened (the gallery's "Open on Build"): the Train page forgets the picks made
    before, and that a template was loaded, so it comes up with the lesson's values."""
    st.session_state.pop(_TEMPLATE_LOADED, None)
    forget(_is_selection_key)


def adopt_template_settings() -> None:
    """A template loaded from the Train page for the data already picked (the webcam's CNN):
    its settings replace the ones shown, the data stays. Each setting is set, not forgotten: the
    browser keeps a widget's value on the page it is drawn on unless Python sets a new one."""
    st.session_state[_TEMPLATE_LOADED] = True
    for key in kept_keys(_is_setting_key):
        _, task, name = key.split(".")
        name = {"patience": "early_stopping_patience"}.get(name, name)  # ui/train_settings.py's key
        value = getattr(default_config(task, **start_settings(task)), name, None)
        if value is not None:
            st.session_state[key] = value


def _lesson_wins(control: str) -> bool:
    """A lesson's value holds while no template was loaded since, and always when it is locked
    or hidden."""
    return is_locked(control) or is_hidden(control) or not st.session_state.get(_TEMPLATE_LOADED)


def _is_selection_key(key: str) -> bool:
    """The Train page's widget keys (ui/train_data.py, ui/train_settings.py) a template sets."""
    return (key in ("train.dataset", "train.task") or key.startswith("train.option.")
            or _is_setting_key(key))


def _is_setting_key(key: str) -> bool:
    parts = key.split(".")  # train.<task>.<setting>
    return (len(parts) == 3 and parts[0] == "train" and parts[1] in TASKS
            and parts[2] not in _MACHINE_SETTINGS)
