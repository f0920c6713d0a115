#!/usr/bin/env python3
"""The state haproxy gives each server of a backend, read from its admin socket ("show stat").

Used by the fleet tests on this machine (tools/fleet.py) and, run on the balancer host by Ansible's
script module, by the Molecule fleet scenario: `haproxy_stat.py SOCKET BACKEND` prints JSON."""
import json
import socket
import sys


def ask(path, line):
    """One command to haproxy's runtime API, its whole answer."""
    with socket.socket(socket.AF_UNIX) as sock:
        sock.connect(path)
        sock.sendall(line.encode() + b"\n")
        data = b""
        while True:
            chunk = sock.recv(65536)
            if not chunk:
                return data.decode()
            data += chunk


def states(path, backend):
    """Each server of the backend: UP, DOWN, DRAIN, MAINT..., without what haproxy adds while its
    checks move a server (UP 1/2: up, one check of two failed or not yet passed)."""
    rows = ask(path, "show stat").lstrip("# ").splitlines()
    fields = rows[0].split(",")
    found = {}
    for row in rows[1:]:
        values = dict(zip(fields, row.split(",")))
        if values.get("pxname") == backend and values.get("svname") not in ("BACKEND", "FRONTEND"):
            found[values["svname"]] = values["status"].split(" ")[0]
    return found


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit("usage: haproxy_stat.py SOCKET BACKEND")
    print(json.dumps(states(sys.argv[1], sys.argv[2]), sort_keys=True))
