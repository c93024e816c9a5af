"""Write the nginx config that puts N LayerLoom replicas behind one address, from the environment.

    LAYERLOOM_REPLICAS=10.0.0.5:8501,10.0.0.5:8502 python deploy/nginx_conf.py \
        > /etc/nginx/conf.d/layerloom.conf

| variable                 | default                        | meaning                              |
| ------------------------ | ------------------------------ | ------------------------------------ |
| LAYERLOOM_REPLICAS       | 127.0.0.1:8501,127.0.0.1:8502  | the Streamlit replicas, host:port    |
| LAYERLOOM_PROXY_LISTEN   | 8080                           | where nginx listens (port or host:port) |
| LAYERLOOM_PROXY_BODY_MB  | 20                             | largest request body (uploads)       |

The output is an `http`-level file (an upstream and a server), for nginx's conf.d. Sticky
sessions: a Streamlit session lives in one replica's memory, so every request of a browser must
reach the same replica. nginx without its commercial `sticky` module does it here with a
cookie of its own: a first visit gets a random `layerloom_affinity` (nginx's $request_id),
the upstream is chosen by a consistent hash of it, and later requests (the websocket
`/_stcore/stream` included) carry it back. Unlike ip_hash, a class behind one NAT address
still spreads over the replicas; a replica that goes away moves only its own browsers.
"""
from __future__ import annotations

import os
import re
import sys
from collections.abc import Mapping
from pathlib import Path

DEFAULT_REPLICAS = "127.0.0.1:8501,127.0.0.1:8502"
_ADDRESS = re.compile(r"^[A-Za-z0-9.\-\[\]:]+:\d{1,5}$")
_LISTEN = re.compile(r"^([A-Za-z0-9.\-\[\]:]+:)?\d{1,5}$")

TEMPLATE = """\
# LayerLoom: {count} Streamlit replicas behind one address (written by deploy/nginx_conf.py).
map $cookie_layerloom_affinity $layerloom_affinity {{
    ""      $request_id;
    default $cookie_layerloom_affinity;
}}

map $http_upgrade $layerloom_connection {{
    default upgrade;
    ""      close;
}}

upstream layerloom {{
    hash $layerloom_affinity consistent;
{servers}
}}

server {{
    listen {listen};
    client_max_body_size {body_mb}m;

    location / {{
        proxy_pass http://layerloom;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        add_header Set-Cookie "layerloom_affinity=$layerloom_affinity; Path=/; Max-Age=31536000; SameSite=Lax; HttpOnly" always;
    }}

    # Streamlit's websocket: upgraded, and kept open while a session lasts.
    location /_stcore/stream {{
        proxy_pass http://layerloom;
        proxy_http_version 1.1;
        proxy_set_header Host $host;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $layerloom_connection;
        proxy_read_timeout 86400s;
        proxy_send_timeout 86400s;
        proxy_buffering off;
    }}
}}
"""


class ConfigError(ValueError):
    """An environment value the config cannot be written from."""


def render(env: Mapping[str, str] | None = None) -> str:
    env = os.environ if env is None else env
    replicas = [r.strip() for r in (env.get("LAYERLOOM_REPLICAS") or DEFAULT_REPLICAS).split(",")
                if r.strip()]
    bad = [r for r in replicas if not _ADDRESS.match(r)]
    if bad or not replicas:
        raise ConfigError(f"LAYERLOOM_REPLICAS must be host:port entries separated by commas; "
                          f"cannot use {', '.join(map(repr, bad)) or 'an empty list'}")
    listen = (env.get("LAYERLOOM_PROXY_LISTEN") or "8080").strip()
    if not _LISTEN.match(listen):
        raise ConfigError(f"LAYERLOOM_PROXY_LISTEN must be a port or host:port, got {listen!r}")
    body = (env.get("LAYERLOOM_PROXY_BODY_MB") or "20").strip()
    if not body.isdigit() or int(body) < 1:
        raise ConfigError(f"LAYERLOOM_PROXY_BODY_MB must be a whole number >= 1, got {body!r}")
    servers = "\n".join(f"    server {r} max_fails=3 fail_timeout=10s;" for r in replicas)
    return TEMPLATE.format(count=len(replicas), servers=servers, listen=listen, body_mb=int(body))


def standalone_config(folder: Path, site: str) -> Path:
    """A main config for running nginx unprivileged (tests, bench/load_replicas.py): the site
    included as conf.d would include it, with the pid, log and temporary files in `folder`."""
    (folder / "site.conf").write_text(site)
    temp = "".join(f"    {kind}_temp_path {folder}/{kind};\n"
                   for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi"))
    main = folder / "nginx.conf"
    main.write_text(f"pid {folder}/nginx.pid;\nerror_log {folder}/error.log;\ndaemon off;\n"
                    f"events {{}}\nhttp {{\n    access_log off;\n{temp}"
                    f"    include {folder}/site.conf;\n}}\n")
    return main


if __name__ == "__main__":
    try:
        sys.stdout.write(render())
    except ConfigError as error:
        sys.exit(f"deploy/nginx_conf.py: {error}")
