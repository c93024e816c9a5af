"""Many users on one server (issue #8): every browser session keeps its own graph, runs, uploads
and data choice.

Two AppTest sessions of app.py share one Python process, so they share exactly what two browser
tabs on one server share: the `st.cache_resource` objects (the job manager, the built-in
datasets) and every module's globals. A static check keeps per-user data out of those globals.
"""
import ast
import json
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from builder.templates import load_template
from tests.build_tabs import click_template, open_build_tab

ROOT = Path(__file__).resolve().parents[1]
APP = str(ROOT / "app.py")
TRAIN_PAGE = "pages/train.py"

# Server-wide `st.cache_resource` functions, each reviewed: shared by every session, so each must
# hold read-only data or server infrastructure, never one person's graph, runs or files.
SHARED_RESOURCES = {
    "limits": "the server's limits, read once from the environment",
    "job_manager": "the one job queue; jobs are filed by the session's random owner id",
    "_pending_ends": "timers ending a closed session's jobs, keyed by owner id",
    "_load_catalog": "built-in datasets: deterministic and never written to",
    "_run_data": "a run's dataset split by (name, options, seed): deterministic, read-only",
    "_records": "each session's record for a reload, filed under its browser's unguessable "
                "token and taken only by a later session presenting that token",
}
MUTATING_METHODS = {"append", "extend", "insert", "add", "update", "setdefault", "pop", "popitem",
                    "remove", "discard", "clear", "appendleft", "extendleft", "sort", "reverse"}
MUTABLE_FACTORIES = {"list", "dict", "set", "defaultdict", "deque", "OrderedDict", "Counter"}


@pytest.fixture(autouse=True)
def thread_workers(monkeypatch):
    """Thread workers start at once; the isolation under test is the sessions', not the workers'."""
    monkeypatch.setenv("LAYERLOOM_WORKER", "thread")


def rerun(app_or_widget) -> AppTest:
    """Run the script again (after a widget change, `widget.run()` runs its app)."""
    app = app_or_widget.run()
    assert not app.exception, app.exception
    return app


def open_app() -> AppTest:
    return rerun(AppTest.from_file(APP, default_timeout=60))


def set_number(app: AppTest, key: str, value) -> None:
    app.number_input(key=key).set_value(value)


def start_training(app: AppTest, epochs_key: str) -> None:
    rerun(app.switch_page(TRAIN_PAGE))
    set_number(app, epochs_key, 2)
    rerun(app)
    app.button(key="train.start").click()
    rerun(app)


def session_runs(app: AppTest) -> list:
    return app.session_state["layerloom.runs"]


def test_two_sessions_side_by_side_share_nothing():
    student_a, student_b = open_app(), open_app()

    # A loads a template from the gallery; B opens a graph file of its own.
    rerun(click_template(student_a, "mlp_playground"))
    uploaded = load_template("autoencoder_dense").to_dict()
    open_build_tab(student_b, "Save & share").file_uploader(key="build.upload").set_value(
        ("mine.json", json.dumps(uploaded).encode(), "application/json"))
    rerun(student_b)
    assert student_a.session_state["layerloom.graph"] == load_template("mlp_playground").to_dict()
    assert student_b.session_state["layerloom.graph"] == uploaded
    assert open_build_tab(student_a, "Save & share").file_uploader(key="build.upload").value is None

    # Each trains its own graph on the data its template was made for.
    rerun(student_a.switch_page(TRAIN_PAGE))
    set_number(student_a, "train.option.moons.n_samples", 200)  # a quick run
    start_training(student_a, "train.classification.epochs")
    start_training(student_b, "train.autoencoder.epochs")
    [run_a], [run_b] = session_runs(student_a), session_runs(student_b)
    assert student_a.session_state["train.dataset"] == run_a.dataset == "moons"
    assert student_b.session_state["train.dataset"] == run_b.dataset == "digits"
    assert run_a.graph["name"] == "mlp_playground" and run_b.graph["name"] == "autoencoder_dense"

    # The one server-wide job manager files each job under its own session's owner id.
    assert run_a.job.owner != run_b.job.owner
    manager = run_a.job._manager
    assert manager is run_b.job._manager
    assert manager.jobs_for(run_a.job.owner) == [run_a.job]
    assert manager.jobs_for(run_b.job.owner) == [run_b.job]

    # B's CSV upload on the Train page stays in B's session.
    student_b.selectbox(key="train.dataset").set_value("csv")
    rerun(student_b)
    student_b.file_uploader(key="train.csv").set_value(("data.csv", b"a,b,y\n1,2,0\n3,4,1\n",
                                                        "text/csv"))
    rerun(student_b)
    rerun(student_a)
    assert student_a.session_state["train.dataset"] == "moons"
    assert "train.csv" not in student_a.session_state

    # Once both runs are over, each session's history lists its own run only.
    assert run_a.job.wait(60) and run_b.job.wait(60), "the runs did not end"
    for app, run in ((student_a, run_a), (student_b, run_b)):
        rerun(app)
        assert session_runs(app) == [run]
        assert run.job.status == "finished", run.job.error
        assert len(app.dataframe[-1].value) == 1  # the runs table of the Train page


# --- static check: no per-user data in module globals --------------------------------------
def session_side_modules() -> list[Path]:
    return sorted([*ROOT.glob("ui/**/*.py"), *ROOT.glob("pages/*.py"), ROOT / "app.py"])


def module_level_mutables(tree: ast.Module) -> set[str]:
    """Names a module binds at its top level to a list, dict or set (literal or constructed)."""
    names = set()
    for statement in tree.body:
        if isinstance(statement, (ast.Assign, ast.AnnAssign)) and is_mutable(statement.value):
            targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
            names |= {target.id for target in targets if isinstance(target, ast.Name)}
    return names


def is_mutable(value: ast.expr | None) -> bool:
    if isinstance(value, (ast.List, ast.Dict, ast.Set, ast.ListComp, ast.DictComp, ast.SetComp)):
        return True
    if isinstance(value, ast.Call):
        func = value.func
        name = func.id if isinstance(func, ast.Name) else getattr(func, "attr", None)
        return name in MUTABLE_FACTORIES
    return False


def run_time_writes(tree: ast.Module, names: set[str]) -> list[str]:
    """Where a function changes one of `names` or rebinds a global: state that outlives a run."""
    writes = []
    for function in ast.walk(tree):
        if not isinstance(function, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)):
            continue
        for node in ast.walk(function):
            if isinstance(node, ast.Global):
                writes.append(f"line {node.lineno}: global {', '.join(node.names)}")
            elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) \
                    and node.func.attr in MUTATING_METHODS and root_name(node.func.value) in names:
                writes.append(f"line {node.lineno}: {root_name(node.func.value)}.{node.func.attr}()")
            elif isinstance(node, (ast.Subscript, ast.Attribute)) \
                    and isinstance(node.ctx, (ast.Store, ast.Del)) and root_name(node) in names:
                writes.append(f"line {node.lineno}: {root_name(node)}[...] =")
    return writes


def root_name(node: ast.expr) -> str | None:
    while isinstance(node, (ast.Subscript, ast.Attribute)):
        node = node.value
    return node.id if isinstance(node, ast.Name) else None


def shared_cache_functions(tree: ast.Module) -> list[str]:
    """Functions cached with `st.cache_resource` for the whole server (not scope="session")."""
    shared = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and any(
                is_server_wide_resource(decorator) for decorator in node.decorator_list):
            shared.append(node.name)
    return shared


def is_server_wide_resource(decorator: ast.expr) -> bool:
    call = decorator if isinstance(decorator, ast.Call) else None
    target = call.func if call else decorator
    if not (isinstance(target, ast.Attribute) and target.attr == "cache_resource"):
        return False
    scope = next((kw.value for kw in (call.keywords if call else []) if kw.arg == "scope"), None)
    return not (isinstance(scope, ast.Constant) and scope.value == "session")


def test_no_module_level_state_is_written_at_run_time():
    problems = []
    for path in session_side_modules():
        tree = ast.parse(path.read_text(), filename=str(path))
        for write in run_time_writes(tree, module_level_mutables(tree)):
            problems.append(f"{path.relative_to(ROOT)} {write}")
    assert not problems, ("module globals are shared by every session; keep per-user data in "
                          "st.session_state:\n" + "\n".join(problems))


def test_every_server_wide_cache_is_reviewed():
    found = {name: path.relative_to(ROOT) for path in session_side_modules()
             for name in shared_cache_functions(ast.parse(path.read_text()))}
    unreviewed = sorted(f"{path}: {name}" for name, path in found.items()
                        if name not in SHARED_RESOURCES)
    assert not unreviewed, ("st.cache_resource is shared by every session; add it to "
                            f"SHARED_RESOURCES with why that is safe: {unreviewed}")


def test_the_static_check_catches_a_per_user_global():
    leaky = ast.parse("graphs = {}\n"
                      "def remember(owner, graph):\n"
                      "    graphs[owner] = graph\n"
                      "@st.cache_resource\n"
                      "def uploads():\n"
                      "    return []\n")
    assert run_time_writes(leaky, module_level_mutables(leaky)) == ["line 3: graphs[...] ="]
    assert shared_cache_functions(leaky) == ["uploads"]
