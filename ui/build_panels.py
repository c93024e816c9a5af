"""The Build page's panels around the canvas: totals, problems with fixes, summary, templates."""
import streamlit as st

from builder import Problem, Report
from builder.templates import list_templates
from ui.build_actions import apply_fix_to_session, load_template_into_session
from ui.summary import UNKNOWN, format_bytes, format_count, summary_frame
from ui.text import escape_markdown

GALLERY_COLUMNS = 3


def totals_bar(graph: dict, report: Report) -> None:
    """The model's size at a glance: parameters, compute, memory, and how many problems remain.

    Layers after a problem have no known shape, so their cost is unknown: the totals then say
    "+ ?" rather than pretend the model is smaller than it is.
    """
    unknown = " + ?" if len(report.nodes) < len(graph.get("nodes", [])) else ""
    params, flops, memory, problems = st.columns(4)
    params.metric("Parameters", format_count(report.total_params) + unknown,
                  help=f"{report.total_params:,} trainable numbers (layers with known shapes).")
    flops.metric("FLOPs / sample", format_count(report.total_flops) + unknown,
                 help="Floating-point operations for one forward pass of one sample.")
    memory.metric("Activations / sample", format_bytes(report.total_activation_bytes) + unknown,
                  help="Memory the layers' outputs take for one sample (training keeps them all).")
    problems.metric("Problems", len(report.problems),
                    help="Things to fix before the model can train; listed below the canvas.")


def problems_panel(report: Report) -> None:
    """Every problem, named by node and field, with a one-click fix where the validator has one.

    One keyed container holds them all, so the tabs below keep their place (and the open tab)
    however many problems there are.
    """
    with st.container(key="build-problems"):
        _problem_rows(report)


def _problem_rows(report: Report) -> None:
    if not report.problems:
        st.success("No problems: this graph compiles into a PyTorch model.")
        return
    st.subheader("Problems")
    for index, problem in enumerate(report.problems):
        message, fix_button = st.columns([4, 1], vertical_alignment="center")
        message.error(_problem_text(problem), icon=":material/error:")
        if problem.fix is not None:
            fix_button.button(escape_markdown(problem.fix.label), key=f"build.fix.{index}",
                              type="primary", on_click=apply_fix_to_session, args=(problem.fix,),
                              width="stretch")


def summary_panel(graph: dict, report: Report) -> None:
    """The model summary, like Keras' model.summary(); a plain table reads well projected."""
    frame = summary_frame(graph, report)
    st.table(frame.style.format({"parameters": "{:,}"}, na_rep=UNKNOWN), hide_index=True)


def templates_gallery() -> None:
    """Every ready-made architecture with its explanation for students; one click loads it."""
    st.caption("Loading a template replaces the graph on the canvas; “Bring back the previous "
               "graph” under Save & share undoes it.")
    templates = list_templates()
    for start in range(0, len(templates), GALLERY_COLUMNS):
        row = templates[start:start + GALLERY_COLUMNS]
        for column, info in zip(st.columns(GALLERY_COLUMNS), row):
            with column.container(border=True):
                st.markdown(f"**{info.title}**")
                st.caption(f"{info.task} · trains on {info.dataset}")
                st.write(info.description)
                st.button("Load", key=f"build.template.{info.name}", icon=":material/download:",
                          on_click=load_template_into_session, args=(info.name,))


def _problem_text(problem: Problem) -> str:
    where = [f"node {problem.inner} (inside block {problem.node})" if problem.inner
             else f"node {problem.node}" if problem.node else "the graph"]
    if problem.field:
        where.append(f"field {problem.field}")
    return f"**{escape_markdown(', '.join(where))}**: {escape_markdown(problem.message)}"
