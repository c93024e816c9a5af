"""A session's share of the server's disk (LAYERLOOM_SESSION_FILES_MB): what it uploads and
makes on the page is kept for its runs, up to the limit; past it a file is refused by name and
what was kept stays."""
from pathlib import Path

from tests.test_train_page import open_page, plain, rerun, server_limits, table_csv  # noqa: F401
from trainers.limits import Limits


def test_the_limit_counts_what_is_kept_and_what_comes():
    limits = Limits(session_files_mb=2)
    assert limits.check_session_files(1_500_000, 500_000) is None
    refusal = limits.check_session_files(1_500_000, 600_000)
    assert "already keeps 1.5 MB" in refusal and "0.6 MB more" in refusal
    assert "2 MB (LAYERLOOM_SESSION_FILES_MB)" in refusal


def test_an_upload_past_the_sessions_share_is_refused_and_the_kept_file_stays(server_limits):
    server_limits(LAYERLOOM_SESSION_FILES_MB="1")
    app = open_page(**{"train.dataset": "csv"})
    first, second = table_csv(rows=45_000), table_csv(rows=46_000)  # just over 0.5 MB each
    app.file_uploader(key="train.csv").upload("sizes.csv", first, "text/csv")
    rerun(app)
    assert not app.error and app.selectbox(key="train.target").value == "label"
    kept = Path(app.session_state["train.last_csv"][1])
    app.file_uploader(key="train.csv").upload("sizes.csv", first, "text/csv")  # the same bytes
    rerun(app)
    assert not app.error  # one file, counted once
    app.file_uploader(key="train.csv").upload("more.csv", second, "text/csv")
    rerun(app)
    message = plain(app.error[0].value)
    assert message.startswith("more.csv: This session already keeps 0.5 MB of files")
    assert "LAYERLOOM_SESSION_FILES_MB" in message
    assert [path.name for path in kept.parent.iterdir()] == [kept.name]  # nothing else written
    assert app.session_state["train.last_csv"][1] == str(kept)
