"""Students without browsers: each drives its own app session over Streamlit's agent API.

The agent API (`server.enableAgentApi`, experimental, off in the shipped config; the load test
turns it on for its own server only) runs an ordinary app session through the same rerun and
callback path a browser's websocket messages take, and answers once the run has settled. So the
server does exactly a class's work (script runs, training jobs) while the client costs almost
nothing, and the time of a request is the server's share of what a student feels. It is a
conservative stand-in: where a browser's live panel reruns only its fragment, a refresh here
reruns the whole page.
"""
from __future__ import annotations

import http.cookiejar
import json
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor

from bench.load_report import ENDED_BADLY, FINISHED, TEMPLATES, SessionResult

INTERACT = "_stcore/agent/interact"
REQUEST_TIMEOUT_S = 120  # one interaction on a very busy box; beyond that the session failed


class AgentSession:
    """One student's app session; every request is timed into `result`."""

    def __init__(self, url: str, result: SessionResult):
        self.endpoint, self.result = url + INTERACT, result
        self.session_id: str | None = None
        self.snapshot: dict = {}
        # Cookies, as a browser keeps them: behind deploy/'s proxy, the affinity cookie keeps
        # the session on its replica.
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()))

    def act(self, name: str, **request) -> dict:
        """Send one interaction (a trigger, widget values or a page) and wait for its result."""
        body = {"session_id": self.session_id, **request} if self.session_id else request
        started = time.perf_counter()
        snapshot = self._post(body)
        while _code(snapshot) == "wait_timed_out":  # a long run: collect it, keep timing
            snapshot = self._post({"session_id": self.session_id})
        self.result.interactions.append((name, time.perf_counter() - started))
        if snapshot.get("status") not in ("ready", "error") or "tree" not in snapshot:
            raise RuntimeError(f"{name}: {snapshot.get('status')} {snapshot.get('code')}: "
                               f"{snapshot.get('message') or str(snapshot)[:300]}")
        if snapshot["status"] == "error":
            raise RuntimeError(f"{name}: the app raised: {exception_text(snapshot)[-600:]}")
        self.snapshot = snapshot
        return snapshot

    def _post(self, body: dict) -> dict:
        request = urllib.request.Request(self.endpoint, data=json.dumps(body).encode(),
                                         headers={"Content-Type": "application/json"})
        try:
            with self._opener.open(request, timeout=REQUEST_TIMEOUT_S) as response:
                answer = json.load(response)
        except urllib.error.HTTPError as error:  # 202 wait_timed_out comes here too
            answer = json.load(error)
        self.session_id = answer.get("session_id", self.session_id)
        return answer


def _code(answer: dict) -> str | None:
    """The agent API's answer code, at the top or inside its `error` object."""
    error = answer.get("error")
    return answer.get("code") or (error.get("code") if isinstance(error, dict) else None)


def page_text(snapshot: dict) -> str:
    """Every string the page shows (labels, markdown, alerts), joined: what a student reads."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            found.extend(v for v in node.get("props", {}).values() if isinstance(v, str))
            for child in node.get("children", ()):
                walk(child)
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(snapshot.get("tree", {}))
    return "\n".join(found)


def exception_text(snapshot: dict) -> str:
    """The exception elements' text (type, message, trace), else the page's last text."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            if "exception" in str(node.get("type", "")):
                found.append(json.dumps(node.get("props", {}))[:1000])
            walk(node.get("children", ()))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(snapshot.get("tree", {}))
    return "\n".join(found) or page_text(snapshot)


def all_options(snapshot: dict) -> list[str]:
    """Every selection option on the page, in order."""
    found: list[str] = []

    def walk(node) -> None:
        if isinstance(node, dict):
            options = node.get("props", {}).get("options")
            found.extend(str(o) for o in options) if isinstance(options, list) else None
            walk(node.get("children", ()))
        elif isinstance(node, list):
            for child in node:
                walk(child)

    walk(snapshot.get("tree", {}))
    return found


def simulate_student(url: str, result: SessionResult, epochs: int, deadline: float,
                     device: str | None = None) -> None:
    """Open the app, load a template, go to Train (pick `device`), start a short run, wander
    until it ends."""
    session = AgentSession(url, result)
    try:
        session.act("open app")
        session.act("open Templates", widget_state={"build.tab": "Templates"})  # drawn when open
        session.act("load template", trigger={"key": f"build.template.{result.template}"})
        train = session.act("go to Train", page="train")
        if device:  # the picker's options are its labels ("NVIDIA H100 ... · 3 GiB in use")
            device_key = next(action["key"] for action in train["actions"]
                              if action["key"].endswith(".device"))
            label = next(option for option in all_options(train) if option.startswith(device))
            train = session.act("pick device", widget_state={device_key: label})
        if epochs == 0:  # a lighter student (bench/load_replicas.py --train-every): looks only
            browse(session, rounds=BROWSE_ROUNDS)
            result.run_status = "browsed"
            return
        epochs_key = next(action["key"] for action in train["actions"]
                          if action["key"].endswith(".epochs"))
        session.act("set epochs", widget_state={epochs_key: epochs})
        session.act("start run", trigger={"key": "train.start"})
        result.run_status = "unfinished"
        wander_until_run_ends(session, deadline)
    except Exception as error:  # one student's failure is a figure of the test, not its end
        result.error = f"{type(error).__name__}: {str(error).splitlines()[0]}"


BROWSE_ROUNDS = 6


def browse(session: AgentSession, rounds: int) -> None:
    """What a student who does not train does meanwhile: Build and back, a second apart."""
    for _ in range(rounds):
        time.sleep(1.0)
        session.act("go to Build", page="")
        session.act("back to Train", page="train")


def wander_until_run_ends(session: AgentSession, deadline: float) -> None:
    """Each second: look at the live panel, or go to Build and back, while the run goes on."""
    for round_ in range(10_000):
        status = run_status(page_text(session.snapshot))
        if status is not None:
            session.result.run_status = status
            return
        if time.monotonic() > deadline:
            return
        time.sleep(1.0)
        if round_ % 2:
            session.act("go to Build", page="")
            session.act("back to Train", page="train")
        else:
            session.act("live refresh")  # what the live panel's timer does in a browser


def run_status(text: str) -> str | None:
    """"finished", the bad ending's words, or None while the run is queued or training.

    The live panel's line is Markdown, e.g. `**Run 1 · adam lr 0\\.003** · finished in 2.1 s`.
    """
    plain = text.replace("**", "").replace("\\", "")
    line = next((line for line in plain.splitlines() if line.startswith("Run 1 · ")), "")
    if FINISHED.search(line):
        return "finished"
    return line if ENDED_BADLY.search(line) else None


def run_class(url: str, args, class_starts=lambda: None) -> list[SessionResult]:
    """N students arriving `args.stagger` seconds apart, each on its own thread; the first
    `args.wide` of every N take the wide model (bench/load_wide.py), spread through the class.
    `class_starts()` is called once the teacher's warm-up is over, as the first student comes."""
    from bench.load_wide import WIDE, simulate_wide_student

    wide = getattr(args, "wide", 0)
    is_wide = [i * wide // args.sessions != (i + 1) * wide // args.sessions
               for i in range(args.sessions)]  # `wide` of them, evenly spaced
    results = [SessionResult(i, WIDE if is_wide[i] else TEMPLATES[i % len(TEMPLATES)])
               for i in range(args.sessions)]
    # The teacher opens the app before class: imports, the first dataset, the job workers.
    AgentSession(url, SessionResult(-1, "warm-up")).act("warm up", page="train")
    time.sleep(args.warm_s)
    class_starts()
    deadline = time.monotonic() + args.timeout
    with ThreadPoolExecutor(max_workers=args.sessions) as pool:
        for result in results:
            if result.template == WIDE:
                pool.submit(simulate_wide_student, url, result, args.wide_epochs, deadline)
            else:
                trains = result.index % getattr(args, "train_every", 1) == 0
                pool.submit(simulate_student, url, result, args.epochs if trains else 0, deadline,
                            args.device)
            time.sleep(args.stagger)
    return results
