#!/usr/bin/env python3
"""Ansistrano beside this role: the same 500-file app deployed by each, to the same host, in one run.

    .venv/bin/python bench/ansistrano_bench.py --ansistrano PATH [--runs 3]
    ./dev bench --ansistrano PATH            # the same table after the other figures

PATH is a checkout of ansistrano/deploy (a directory with tasks/main.yml and defaults/main.yml)
or a bare git directory of it, which is exported to a temp dir: no Ansistrano code is kept in
this repository. Ansistrano is the common way to ship code with Ansible, so it is the yardstick.

For each connection, `local` and `ssh` (a private sshd on a free 127.0.0.1 port, started here
and stopped at the end, key auth as the current user, pipelining on), each tool deploys the app
fresh once, then N times both with nothing changed (no-op) and after a one-line change (the
role's reload included). Printed: the median wall times side by side, the role's time over
Ansistrano's against the goals (no-op at most 0.5, change at most 0.7), the lines each run
prints at default verbosity (the role's goals: no-op at most 40, change at most 80), the tasks
each run shows, and the disk one more release adds. Goals are shown, never asserted. The
same ansible-core runs both (this venv's), with the same settings, callback and forks.
"""
import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

import yaml

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
for _path in (os.path.join(ROOT, "collections"), os.path.join(ROOT, "tools"), os.path.join(ROOT, "bench")):
    if _path not in sys.path:
        sys.path.insert(0, _path)

from deploy_bench import _du_kib, make_files  # noqa: E402
from roledeploy import BIN, Deploy  # noqa: E402
from sshd import Sshd  # noqa: E402
from testservers import free_port, set_version  # noqa: E402

FILES = 500
OUT = os.path.join(ROOT, "bench", "results", "ansistrano.json")
CASES = [("fresh", "fresh"), ("noop", "no-op"), ("change", "one-line change")]
# The role's own goals: its time over Ansistrano's, and the lines a run prints.
RATIO_GOALS = {"noop": 0.5, "change": 0.7}
LINE_GOALS = {"noop": 40, "change": 80}
# The settings of the repo's ansible.cfg that bear on speed or output, given to Ansistrano too.
SETTINGS = """\
[defaults]
roles_path = {roles_path}
interpreter_python = auto_silent
retry_files_enabled = false
callback_result_format = yaml
nocows = true

[ssh_connection]
pipelining = true
"""


# --- Ansistrano -------------------------------------------------------------------------------

def _is_role(path):
    return all(os.path.isfile(os.path.join(path, part, "main.yml")) for part in ("tasks", "defaults"))


def _git(*argv):
    out = subprocess.run(["git"] + list(argv), capture_output=True, text=True)
    return out.stdout.strip() if out.returncode == 0 else None


def ansistrano_role(path, tmp):
    """(roles_path, role name, commit or None) for a checkout, or a bare git dir exported to
    `tmp`: the role is found by the directory's own name, as ansible-galaxy would install it."""
    path = os.path.abspath(path.rstrip("/"))
    if _is_role(path):
        commit = _git("-C", path, "rev-parse", "HEAD")
        return os.path.dirname(path), os.path.basename(path), commit
    commit = _git("--git-dir", path, "rev-parse", "HEAD")
    if commit is None:
        raise SystemExit("%s: neither a role (tasks/main.yml, defaults/main.yml) nor a git dir" % path)
    role = os.path.join(tmp, "roles", "ansistrano_deploy")
    os.makedirs(role)
    archive = subprocess.Popen(["git", "--git-dir", path, "archive", commit], stdout=subprocess.PIPE)
    subprocess.run(["tar", "-x", "-C", role], stdin=archive.stdout, check=True)
    if archive.wait() != 0 or not _is_role(role):
        raise SystemExit("%s: its HEAD is not an Ansistrano role" % path)
    return os.path.dirname(role), os.path.basename(role), commit


class Ansistrano(object):
    """The Ansistrano role run by a small playbook of its own, with its own ansible.cfg, so
    that the repo's collection path and inventory play no part in it."""

    def __init__(self, base, roles_path, role, src):
        self.base = base
        self.root = os.path.join(base, "srv")
        self.src = src
        self.config = os.path.join(base, "ansible.cfg")
        self.playbook = os.path.join(base, "deploy.yml")
        with open(self.config, "w") as handle:
            handle.write(SETTINGS.format(roles_path=roles_path))
        # No facts: Ansistrano names a release from `date` on the controller, and uses no fact.
        play = [{"name": "Deploy with Ansistrano", "hosts": "all", "gather_facts": False,
                 "roles": [{"role": role}]}]
        with open(self.playbook, "w") as handle:
            yaml.safe_dump(play, handle, sort_keys=False)
        self._last_second = None

    def run(self, inventory):
        # A release is named by the second it starts in: two in one second would collide.
        while self._last_second == int(time.time()):
            time.sleep(0.05)
        self._last_second = int(time.time())
        variables = {"ansistrano_deploy_from": self.src.rstrip("/") + "/",
                     "ansistrano_deploy_to": self.root, "ansistrano_deploy_via": "rsync",
                     "ansistrano_allow_anonymous_stats": False, "ansistrano_keep_releases": 5}
        return _playbook(self.playbook, self.config, inventory, variables, cwd=self.base)

    def releases(self):
        return _releases(os.path.join(self.root, "releases"))


def _playbook(playbook, config, inventory, variables=None, cwd=None):
    env = dict(os.environ, ANSIBLE_CONFIG=config, ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    argv = [os.path.join(BIN, "ansible-playbook"), playbook, "-i", inventory]
    if variables:
        argv += ["-e", json.dumps(variables)]
    return subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def _releases(path):
    names = sorted(name for name in os.listdir(path) if not name.endswith(".partial"))
    return [os.path.join(path, name) for name in names]


# --- one connection ---------------------------------------------------------------------------

def write_inventory(path, name, connection_vars):
    """The repo's own inventory host (inventory/localhost.yml) under `name`, with the
    connection's variables over its own: the role sees what `./dev demo` gives it, and
    Ansistrano the same interpreter and connection."""
    with open(os.path.join(ROOT, "inventory", "localhost.yml")) as handle:
        host = dict(yaml.safe_load(handle)["all"]["hosts"]["localhost"])
    host.update(connection_vars)
    with open(path, "w") as handle:
        yaml.safe_dump({"all": {"hosts": {name: host}}}, handle, sort_keys=False)
    return path


def measure(run):
    """Wall time of one ansible-playbook run, the lines it printed and the tasks it showed."""
    started = time.monotonic()
    result = run()
    seconds = round(time.monotonic() - started, 2)
    if result.returncode != 0:
        raise RuntimeError("ansible-playbook failed:\n" + result.stdout[-6000:] + result.stderr[-3000:])
    lines = result.stdout.splitlines()
    return {"s": seconds, "lines": len(lines), "tasks": sum(line.startswith("TASK [") for line in lines)}


def baseline(base, inventory):
    """ansible-playbook's own cost on this connection: an empty play (start-up, inventory,
    no connection), and one `ping` task against eleven (what one more trivial task costs)."""
    config = os.path.join(base, "ansible.cfg")
    times = {}
    for label, count in (("empty", 0), ("one", 1), ("eleven", 11)):
        playbook = os.path.join(base, "baseline-%s.yml" % label)
        tasks = [{"name": "Ping %d" % index, "ansible.builtin.ping": None} for index in range(count)]
        with open(playbook, "w") as handle:
            yaml.safe_dump([{"hosts": "all", "gather_facts": False, "tasks": tasks}], handle)
        times[label] = measure(lambda: _playbook(playbook, config, inventory, cwd=base))["s"]
    return {"empty_play_s": times["empty"], "task_s": round((times["eleven"] - times["one"]) / 10, 3)}


def _pair(case, runs, ansistrano, app, inventory, first_role):
    """One timed run of each, in turn; which goes first alternates from run to run."""
    tools = [("role", lambda: app.run("-i", inventory)), ("ansistrano", lambda: ansistrano.run(inventory))]
    for tool, run in (tools if first_role else tools[::-1]):
        runs[case][tool].append(measure(run))


def bench_connection(base, connection, connection_vars, roles_path, role, runs):
    os.makedirs(base)
    inventory = write_inventory(os.path.join(base, "inventory.yml"), "bench-" + connection, connection_vars)
    app = Deploy(os.path.join(base, "role"), free_port(), "gunicorn")
    make_files(app.src, FILES)
    ansistrano = Ansistrano(base, roles_path, role, app.src)
    figures = {case: {"role": [], "ansistrano": []} for case, _ in CASES}
    baselines = []
    try:
        _pair("fresh", figures, ansistrano, app, inventory, first_role=False)
        for index in range(runs):
            baselines.append(baseline(base, inventory))
            _pair("noop", figures, ansistrano, app, inventory, first_role=index % 2 == 0)
            # Versions alternate, so that every timed change is one for the role too.
            set_version(app.src, "2" if index % 2 == 0 else "3")
            _pair("change", figures, ansistrano, app, inventory, first_role=index % 2 == 1)
        disk = {"role": _disk(_releases(os.path.join(app.root, "releases"))),
                "ansistrano": _disk(ansistrano.releases())}
    finally:
        app.stop()
    return {"connection": connection, "runs": figures, "cases": summarize(figures),
            "baseline": {key: statistics.median(b[key] for b in baselines) for key in baselines[0]},
            "disk": disk}


def _disk(releases):
    """The newest release beside the one before: hard links to unchanged files count once,
    in the older one, so the second figure is what the newest release added."""
    whole, added = _du_kib(*releases[-2:])
    return {"releases": len(releases), "release_kib": whole, "added_kib": added}


def summarize(figures):
    cases = []
    for case, label in CASES:
        row = {"case": case, "label": label}
        for tool in ("ansistrano", "role"):
            for key in ("s", "lines", "tasks"):
                row["%s_%s" % (tool, key)] = statistics.median(run[key] for run in figures[case][tool])
        row["ratio"] = round(row["role_s"] / row["ansistrano_s"], 2)
        row["goal"] = RATIO_GOALS.get(case)
        row["met"] = None if row["goal"] is None else row["ratio"] <= row["goal"]
        row["line_goal"] = LINE_GOALS.get(case)
        row["lines_met"] = None if row["line_goal"] is None else row["role_lines"] <= row["line_goal"]
        cases.append(row)
    return cases


def run(ansistrano_path, runs=3):
    """Both connections, in temp dirs removed at the end, with the sshd stopped."""
    tmp = tempfile.mkdtemp(prefix="wsgi-bench-ansistrano-")
    sshd = Sshd(os.path.join(tmp, "sshd"))
    try:
        roles_path, role, commit = ansistrano_role(ansistrano_path, tmp)
        results = {"ansistrano": {"path": os.path.abspath(ansistrano_path), "commit": commit},
                   "files": FILES, "server": "gunicorn", "runs": runs, "connections": []}
        results["connections"].append(bench_connection(
            os.path.join(tmp, "local"), "local", {"ansible_connection": "local"}, roles_path, role, runs))
        os.makedirs(sshd.base)
        sshd.start()
        results["connections"].append(bench_connection(
            os.path.join(tmp, "ssh"), "ssh", sshd.host_vars(), roles_path, role, runs))
    finally:
        sshd.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    return results


# --- output -----------------------------------------------------------------------------------

def _yes_no(value):
    return "-" if value is None else ("yes" if value else "no")


def print_tables(results):
    print("Ansistrano%s vs this role: %d files, %s, median of %d run(s); goals shown, not asserted" % (
        " " + results["ansistrano"]["commit"][:10] if results["ansistrano"]["commit"] else "",
        results["files"], results["server"], results["runs"]))
    header = ("%-16s %13s %7s %6s %5s %4s %8s %8s %6s %4s %8s %8s" % (
        "case", "Ansistrano s", "role s", "ratio", "goal", "met", "lines A", "lines R", "goal",
        "met", "tasks A", "tasks R"))
    for figures in results["connections"]:
        base = figures["baseline"]
        print("\nconnection %s (ansible-playbook alone: empty play %.2f s, one more ping task %.3f s)" % (
            figures["connection"], base["empty_play_s"], base["task_s"]))
        print(header)
        for row in figures["cases"]:
            print("%-16s %13.2f %7.2f %6.2f %5s %4s %8d %8d %6s %4s %8d %8d" % (
                row["label"], row["ansistrano_s"], row["role_s"], row["ratio"],
                "<=%.1f" % row["goal"] if row["goal"] else "-", _yes_no(row["met"]),
                row["ansistrano_lines"], row["role_lines"],
                "<=%d" % row["line_goal"] if row["line_goal"] else "-", _yes_no(row["lines_met"]),
                row["ansistrano_tasks"], row["role_tasks"]))
        disk = figures["disk"]
        print("disk per release: Ansistrano adds %d KiB (release %d KiB), the role adds %d KiB "
              "(release %d KiB)" % (disk["ansistrano"]["added_kib"], disk["ansistrano"]["release_kib"],
                                    disk["role"]["added_kib"], disk["role"]["release_kib"]))


def write(results, path=OUT):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        json.dump(results, handle, indent=2)
    return path


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--ansistrano", required=True,
                        help="a checkout of ansistrano/deploy, or a bare git dir of it")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--out", default=OUT)
    args = parser.parse_args()
    from bench import machine
    results = dict(run(args.ansistrano, args.runs), machine=machine())
    print_tables(results)
    print("\nwritten to %s" % os.path.relpath(write(results, args.out), ROOT))


if __name__ == "__main__":
    main()
