"""deploy/: the nginx config for N replicas (sticky sessions, the websocket upgrade), checked by
nginx itself and through a real proxy in front of two stand-in replicas when nginx is here."""
import http.server
import os
import shutil
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, _free_port

sys.path.insert(0, str(ROOT / "deploy"))
from nginx_conf import ConfigError, render, standalone_config  # noqa: E402

NGINX = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
needs_nginx = pytest.mark.skipif(NGINX is None, reason="nginx is not installed")


def test_the_shipped_config_is_what_the_script_writes_for_two_local_replicas():
    assert (ROOT / "deploy" / "layerloom-nginx.conf").read_text() == render({})


def test_the_config_is_written_from_the_environment():
    text = render({"LAYERLOOM_REPLICAS": "10.0.0.5:8501, 10.0.0.6:8501,10.0.0.6:8502",
                   "LAYERLOOM_PROXY_LISTEN": "443", "LAYERLOOM_PROXY_BODY_MB": "11"})
    assert [line.split()[1] for line in text.splitlines() if line.startswith("    server ")] \
        == ["10.0.0.5:8501", "10.0.0.6:8501", "10.0.0.6:8502"]
    assert "listen 443;" in text and "client_max_body_size 11m;" in text
    assert "hash $layerloom_affinity consistent;" in text
    stream = text[text.index("location /_stcore/stream"):]
    assert "proxy_set_header Upgrade $http_upgrade;" in stream and "proxy_read_timeout 86400s;" in stream


@pytest.mark.parametrize("env, message", [
    ({"LAYERLOOM_REPLICAS": "localhost"}, "LAYERLOOM_REPLICAS must be host:port entries"),
    ({"LAYERLOOM_REPLICAS": "a:1;rm -rf /:2"}, "cannot use 'a:1;rm -rf /:2'"),
    ({"LAYERLOOM_PROXY_LISTEN": "80; include /etc"}, "LAYERLOOM_PROXY_LISTEN must be a port"),
    ({"LAYERLOOM_PROXY_BODY_MB": "0"}, "LAYERLOOM_PROXY_BODY_MB must be a whole number >= 1"),
])
def test_a_bad_value_is_named_and_nothing_is_written(env, message):
    with pytest.raises(ConfigError, match=message):
        render(env)


@needs_nginx
def test_nginx_accepts_the_config(tmp_path):
    checked = subprocess.run([NGINX, "-t", "-c", str(standalone_config(tmp_path, render({})))],
                             capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, checked.stderr
    assert "syntax is ok" in checked.stderr


class StandInReplica(http.server.BaseHTTPRequestHandler):
    """Answers with its name and the upgrade headers it received."""

    def do_GET(self):
        body = (f"{self.server.name}|{self.headers.get('Upgrade')}|"
                f"{self.headers.get('Connection')}").encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@needs_nginx
def test_the_proxy_keeps_each_browser_on_one_replica_and_upgrades_the_websocket(tmp_path):
    replicas = []
    for name in ("A", "B"):
        server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), StandInReplica)
        server.name = name
        threading.Thread(target=server.serve_forever, daemon=True).start()
        replicas.append(server)
    port = _free_port()
    site = render({"LAYERLOOM_REPLICAS": ",".join(f"127.0.0.1:{s.server_port}" for s in replicas),
                   "LAYERLOOM_PROXY_LISTEN": f"127.0.0.1:{port}"})
    proxy = subprocess.Popen([NGINX, "-c", str(standalone_config(tmp_path, site))],
                             stderr=subprocess.PIPE, text=True)
    try:
        def get(path="/", cookie=None, upgrade=False):
            headers = {"Cookie": f"layerloom_affinity={cookie}"} if cookie else {}
            if upgrade:
                headers |= {"Upgrade": "websocket", "Connection": "Upgrade"}
            request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", headers=headers)
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.read().decode(), response.headers.get("Set-Cookie", "")

        deadline = time.monotonic() + 20
        while True:
            try:
                _, first_cookie = get()
                break
            except OSError:
                assert time.monotonic() < deadline and proxy.poll() is None, proxy.stderr.read()
                time.sleep(0.1)
        # a first visit gets an affinity cookie; with it, every request reaches one replica
        token = first_cookie.split(";")[0].split("=", 1)[1]
        assert first_cookie.startswith("layerloom_affinity=") and len(token) == 32
        answers = {get(cookie=token)[0].split("|")[0] for _ in range(10)}
        assert len(answers) == 1
        stream, _ = get("/_stcore/stream", cookie=token, upgrade=True)
        assert stream == f"{answers.pop()}|websocket|upgrade"
        # browsers spread over both replicas
        spread = {get(cookie=uuid.uuid4().hex)[0].split("|")[0] for _ in range(30)}
        assert spread == {"A", "B"}
    finally:
        proxy.terminate()
        proxy.wait(10)
        for server in replicas:
            server.shutdown()
