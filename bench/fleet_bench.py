"""Fleet figures on this machine: three app hosts (connection local, each its own root and port)
behind Debian's haproxy, with a bounded load through haproxy during each deploy.

Beside the anchor, a one-line change deployed to one host of the fleet (-e wsgi_deploy_hosts), it
times a rolling deploy of the same change to the three hosts in batches [1, 50%, 100%], and the
same with every host drained before its graceful reload (wsgi_deploy_drain: always), and counts
the requests that failed at the balancer during each. A restart, which a drain is for, needs
systemd: the Molecule fleet scenario measures it.
"""
import shutil
import tempfile
import time

from fleet import HOSTS, Fleet
from httpload import Load
from testservers import set_version


def _timed_under_load(fleet, version, clients, **extra_vars):
    set_version(fleet.src, version)
    with Load(fleet.haproxy.url + "version", clients=clients, max_seconds=600) as load:
        started = time.monotonic()
        run = fleet.run(**extra_vars)
        wall = round(time.monotonic() - started, 2)
    if run.returncode != 0:
        raise RuntimeError("the fleet deploy failed:\n" + run.stdout[-4000:])
    report = load.report()
    return {"wall_s": wall, "ok": report["ok"], "failed": report["failed"], "errors": report["errors"]}


def run(clients=4):
    fleet = Fleet(tempfile.mkdtemp(prefix="wsgi-bench-fleet-"), balanced=True)
    try:
        fleet.haproxy.start()
        fleet.run()  # version 1 everywhere, virtualenvs built
        if not fleet.haproxy.wait_all_up():
            raise RuntimeError("haproxy does not see every host up: %s" % fleet.haproxy.states())
        rows = [
            dict(_timed_under_load(fleet, "2", clients, wsgi_deploy_hosts="web1"),
                 what="1 host (anchor)", hosts=1, drain="auto (none for a reload)"),
            dict(_timed_under_load(fleet, "3", clients),
                 what="3 hosts, batches [1, 50%, 100%]", hosts=len(HOSTS), drain="auto (none for a reload)"),
            dict(_timed_under_load(fleet, "4", clients, wsgi_deploy_drain="always"),
                 what="3 hosts, each drained first", hosts=len(HOSTS), drain="always"),
        ]
    finally:
        fleet.stop()
        shutil.rmtree(fleet.base, ignore_errors=True)
    for row in rows:
        row["vs_anchor"] = round(row["wall_s"] / rows[0]["wall_s"], 2)
    return {"clients": clients, "rows": rows}


def print_table(figures):
    print("fleet: a one-line change, graceful reload (gunicorn HUP), load of %d clients through haproxy"
          % figures["clients"])
    print("%-34s %8s %10s %10s %8s" % ("deploy", "wall s", "vs anchor", "ok", "failed"))
    for row in figures["rows"]:
        print("%-34s %8.2f %9.2fx %10d %8d" % (row["what"], row["wall_s"], row["vs_anchor"], row["ok"], row["failed"]))
