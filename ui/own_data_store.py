"""Where the Train page keeps people's own data for the session.

Uploads and data made on the page are saved in this session's folder
(`ui.session_lease.save_session_file`, deleted when the session ends), so a run loads exactly what the
page previewed: `load_dataset(name, path=..., ...)`. The session keeps one loaded bundle in
memory, whatever its kind: the one on show, replaced when the kind, the file or an option
changes (the others reload from their files when picked again). So a session's own data holds
at most one dataset's memory (`LAYERLOOM_MAX_DATASET_MB`), however many kinds it uploaded.
"""
from __future__ import annotations

from pathlib import Path

import streamlit as st

from trainers.datasets import DatasetError, load_dataset
from ui.session_lease import SessionFilesFull, limits, save_session_file
from ui.text import escape_markdown

_BUNDLES = "train.own_data.bundles"  # {kind: (options key, bundle)}: the one on show
_LAST_UPLOAD = "train.own_data.last_upload"  # kind -> (file name, saved path)


def kept_upload(kind: str, upload, suffix: str, hint: str) -> tuple[str, Path] | None:
    """(file name, saved path) of the new upload, else of the one uploaded earlier in this
    session (Streamlit empties a file uploader whenever the person visits another page)."""
    remembered = st.session_state.setdefault(_LAST_UPLOAD, {})
    if upload is not None:
        too_big = limits().check_upload(upload.size)
        if too_big:
            st.error(escape_markdown(f"{upload.name}: {too_big}"))
            return None
        path = _saved(upload.getvalue(), suffix, upload.name)
        if path is None:
            return None
        remembered[kind] = (upload.name, path)
        return remembered[kind]
    name, path = remembered.get(kind, (None, None))
    if path is None or not Path(path).exists():
        st.info(hint)
        return None
    st.caption(f"Using {escape_markdown(name)}, uploaded earlier; upload another file to replace it.")
    return name, Path(path)


def remember_saved(kind: str, name: str, data: bytes, suffix: str) -> Path | None:
    """Keep `data` (made on the page, not uploaded) as this kind's current file; None (with the
    reason shown) when the session may not keep more files."""
    path = _saved(data, suffix, name)
    if path is not None:
        st.session_state.setdefault(_LAST_UPLOAD, {})[kind] = (name, path)
    return path


def _saved(data: bytes, suffix: str, name: str) -> Path | None:
    try:
        return save_session_file(data, suffix)
    except SessionFilesFull as refusal:
        st.error(escape_markdown(f"{name} was not kept: {refusal}"))
        return None


def session_bundle(kind: str, options: dict, source_name: str):
    """The bundle for these options, loaded once per change; None (with the message shown,
    naming the file) when the data cannot be used."""
    key = tuple(sorted((name, str(value)) for name, value in options.items()))
    bundles = st.session_state.setdefault(_BUNDLES, {})
    cached = bundles.get(kind)
    if cached is None or cached[0] != key:
        bundles.clear()  # the old one's memory goes before the new one is loaded
        try:
            with st.spinner(f"Reading {source_name}…"):
                cached = (key, load_dataset(kind, **options))
        except DatasetError as error:
            st.error(escape_markdown(f"{source_name}: {error}"))
            return None
        bundles[kind] = cached
    bundle = cached[1]
    for note in bundle.notes:
        st.caption(escape_markdown(note))
    return bundle
