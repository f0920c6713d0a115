# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""What haproxy's runtime API says of a backend's servers: read before a deploy changes anything,
so that a backend or server name haproxy does not know stops it there, not after the sync."""
from __future__ import annotations

import socket

ANSWER_MAX_BYTES = 1 << 22


class BalancerError(Exception):
    def __init__(self, msg):
        super().__init__(msg)
        self.msg = msg


def ask(path, line, timeout=10.0):
    """One command to haproxy's admin socket, its whole answer."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.settimeout(timeout)
        sock.connect(path)
        sock.sendall(line.encode("utf-8") + b"\n")
        chunks, size = [], 0
        while size < ANSWER_MAX_BYTES:
            chunk = sock.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    return b"".join(chunks).decode("utf-8", "replace")


def backends(stat_csv):
    """{backend: {server: status}} from the answer to `show stat` (a server's status as haproxy
    words it: UP, DOWN, DRAIN, MAINT; "UP 1/2" while a check moves it is UP)."""
    rows = stat_csv.lstrip("# ").splitlines()
    if not rows:
        return {}
    fields = rows[0].split(",")
    found = {}
    for row in rows[1:]:
        values = dict(zip(fields, row.split(",")))
        if not values.get("pxname") or values.get("svname") == "FRONTEND":
            continue
        servers = found.setdefault(values["pxname"], {})
        if values.get("svname") != "BACKEND":
            servers[values["svname"]] = values.get("status", "").split(" ")[0]
    return found


def server_state(path, backend, server):
    """The status of `server` in `backend`; BalancerError naming what haproxy knows when it knows
    neither, or when its socket does not answer."""
    try:
        known = backends(ask(path, "show stat"))
    except OSError as exc:
        raise BalancerError("haproxy's admin socket %s does not answer: %s" % (path, exc.strerror or exc))
    if backend not in known:
        raise BalancerError("haproxy has no backend %s (its backends: %s): set wsgi_deploy_haproxy_backend to one of them"
                            % (backend, ", ".join(sorted(known)) or "none"))
    if server not in known[backend]:
        raise BalancerError("haproxy's backend %s has no server %s (its servers: %s): set wsgi_deploy_haproxy_server "
                            "to this host's" % (backend, server, ", ".join(sorted(known[backend])) or "none"))
    return known[backend][server]
