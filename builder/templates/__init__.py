"""Ready-made graphs to start from: one JSON file per template, described in index.json.

The graph files hold only the graph (the format rejects unknown fields), so each template's
title, explanation and lesson live beside them in index.json, in display order: the task, the
dataset and its options, and the training settings (TrainConfig fields) that reach the result
docs/templates.md states for it. The Train page starts from these when the template is loaded.
"""
import json
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from builder.spec import Graph, load_graph

TEMPLATE_DIR = Path(__file__).resolve().parent


@dataclass(frozen=True)
class TemplateInfo:
    name: str          # file stem, e.g. "cnn_seed"
    title: str         # what the picker shows
    description: str   # two or three sentences for students on how the architecture works
    task: str          # "classification" | "regression" | "autoencoder" | "vae" | "gan"
    dataset: str       # the trainers.datasets name it trains on unchanged
    dataset_options: dict = field(default_factory=dict)  # load_dataset options, e.g. n_samples
    settings: dict = field(default_factory=dict)  # TrainConfig fields over the task's defaults


@cache
def _index() -> dict[str, TemplateInfo]:
    entries = json.loads((TEMPLATE_DIR / "index.json").read_text(encoding="utf-8"))
    return {name: TemplateInfo(name=name, **meta) for name, meta in entries.items()}


def list_templates() -> list[TemplateInfo]:
    return list(_index().values())


def load_template(name: str) -> Graph:
    """A fresh Graph each call, so callers may edit it freely."""
    if name not in _index():
        raise ValueError(f"unknown template {name!r}; available: {', '.join(_index())}")
    return load_graph(TEMPLATE_DIR / f"{name}.json")
