"""Screenshots of every Inspect tab for every template, the way a teacher would get there:
Build -> Templates -> the template, Train -> a short run, Inspect -> each tab.

    .venv/bin/python scripts/shoot_inspect.py --out /tmp/inspect-shots [--size 1280x720] [names...]

Each tab is shot twice: as the projector shows it (scrolled to the tab) and as a tall page
with all of it (NAME.tall.png); the script prints every exception box and browser console error it
sees, and exits 1 if there were any. Look at the PNGs afterwards."""
import argparse
import re
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from builder.templates import list_templates  # noqa: E402
from tests.conftest import CHROMIUM, CHROMIUM_ARGS, streamlit_server, wait_for_app  # noqa: E402
from tests.template_walk import EXCEPTION_BOX, inspect_tabs, train_template  # noqa: E402

SAMPLES = 400  # dataset size where the dataset has the option
EPOCHS = 5
TALL_PX = 2600


def shoot(page, out: Path, template: str, size: dict) -> int:
    """Each tab at the projector's size, scrolled to the tab's content, and the whole tab on a
    page as tall as it needs (Streamlit scrolls inside the page, so a full-page shot would not)."""
    problems = 0
    for number, tab in enumerate(inspect_tabs(page)):
        page.wait_for_timeout(800)
        path = out / f"{template}-{number}-{re.sub(r'[^A-Za-z]+', '_', tab)}.png"
        page.get_by_role("tab", name=tab, exact=True).scroll_into_view_if_needed()
        page.screenshot(path=str(path))
        page.set_viewport_size({"width": size["width"], "height": TALL_PX})
        page.wait_for_timeout(800)
        page.screenshot(path=str(path.with_suffix(".tall.png")))
        page.set_viewport_size(size)
        boxes = page.locator(EXCEPTION_BOX)
        if boxes.count():
            problems += 1
            print(f"{path}: EXCEPTION {boxes.first.inner_text()[:300]!r}")
        else:
            print(path)
    return problems


def main() -> int:
    sys.stdout.reconfigure(line_buffering=True)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="/tmp/inspect-shots")
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("names", nargs="*", help="templates (default: every one)")
    args = parser.parse_args()
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    width, height = (int(v) for v in args.size.lower().split("x"))
    names = args.names or [t.name for t in list_templates()]
    from playwright.sync_api import sync_playwright
    problems = 0
    with streamlit_server("app.py", env={"LAYERLOOM_WORKER": "thread"}) as (_, url), sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        for name in names:
            context = browser.new_context(viewport={"width": width, "height": height})
            page = context.new_page()
            errors = []
            page.on("pageerror", lambda e: errors.append(str(e)[:300]))
            page.goto(url)
            wait_for_app(page)
            train_template(page, name, samples=SAMPLES, epochs=EPOCHS)
            problems += shoot(page, out, name, {"width": width, "height": height}) + len(errors)
            for error in errors:
                print(f"{name}: browser console error: {error}")
            context.close()
        browser.close()
    print("no problems seen" if not problems else f"{problems} problems seen", f"; look at {out}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
