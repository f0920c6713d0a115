"""The seed's own servers (tests/role/seed: its uwsgi.ini and conf.py, the address moved to a free
port, the 10 s routes kept), started by hand as the seed starts them, then deployed into by the role
with wsgi_deploy_manage_server false, under load, with a long request in flight: what a user who
brings their own server meets first."""
import json
import os
import re
import shutil
import subprocess
import sys
import time
import urllib.request

import pytest

from helpers import failure_of, result_of, under_load
from testservers import BIN, free_port, set_version

SEED = os.path.join(os.path.dirname(os.path.abspath(__file__)), "seed")
HTTPLOAD = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "tools",
                        "httpload.py")

SERVERS = {
    # No pidfile and no log file: the role finds the master by its touch file and reads the log
    # behind its stderr (`uwsgi --ini uwsgi.ini > uwsgi.log 2>&1`, as the seed runs it).
    "uwsgi": {"fast": "/version", "slow": "/", "body": "v2", "slow_body": "hello eeee v1", "workers": 4,
              "kept": ["uwsgi.log", "test.txt"], "method": "chain"},
    "gunicorn": {"fast": "/", "slow": "/slow", "body": "hello fdaf fdafd v2", "slow_body": "slow v1", "workers": 2,
                 "kept": ["log/gunicorn.pid", "log/debug.log", "log/access.log"], "method": "hup"},
}


def children(pid):
    with open("/proc/%d/task/%d/children" % (pid, pid)) as handle:
        return sorted(int(child) for child in handle.read().split())


def start_by_hand(server, dest, port):
    """The seed's config with its address (and uWSGI's paths) moved here, started in its directory."""
    if server == "uwsgi":
        ini = (dest / "uwsgi.ini").read_text()
        ini = re.sub(r"(?m)^http=.*$", "http=127.0.0.1:%d" % port, ini)
        ini = ini.replace("/opt/seed-uwsgi", str(dest))
        (dest / "uwsgi.ini").write_text(ini)
        argv = [os.path.join(BIN, "uwsgi"), "--ini", "uwsgi.ini"]
        out = open(dest / "uwsgi.log", "ab")
    else:
        (dest / "log").mkdir()
        conf = (dest / "conf.py").read_text().replace("127.0.0.1:18104", "127.0.0.1:%d" % port)
        (dest / "conf.py").write_text(conf)
        argv = [os.path.join(BIN, "gunicorn"), "-c", "conf.py", "main:app"]
        out = subprocess.DEVNULL
    proc = subprocess.Popen(argv, cwd=dest, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            # uWSGI's http= router is a child too, besides its workers.
            if len(children(proc.pid)) >= SERVERS[server]["workers"]:
                urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, SERVERS[server]["fast"]), timeout=5).close()
                return proc
        except OSError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise AssertionError("the seed's %s did not start" % server)


def long_request_hook(tmp_path, url):
    """A before-reload hook that sends one long request, so that it is in flight when the reload begins."""
    out = tmp_path / "slow.json"
    hook = tmp_path / "long_request.yml"
    hook.write_text(
        "- name: Hook | Start one long request that must survive the reload\n"
        "  ansible.builtin.shell: nohup %s %s --single --max-seconds=120 %s > %s 2>&1 &\n"
        "  delegate_to: localhost\n"
        "  changed_when: true\n"
        "- name: Hook | Let the long request reach a worker\n"
        "  ansible.builtin.wait_for:\n"
        "    timeout: 1\n" % (sys.executable, HTTPLOAD, url, out))
    return str(hook), out


@pytest.mark.parametrize("server", sorted(SERVERS))
def test_a_server_the_seed_started_by_hand_is_reloaded_under_load_and_keeps_its_own_files(deploy, tmp_path, server):
    seen = SERVERS[server]
    dest = tmp_path / ("seed-" + server)
    shutil.copytree(os.path.join(SEED, "seed-" + server), dest)
    port = free_port()
    proc = start_by_hand(server, dest, port)
    try:
        app = deploy(server)
        # Nothing to build: the server brought its own virtualenv.
        app.before_run = app.after_run = None
        shutil.rmtree(app.src)
        shutil.copytree(dest, app.src, ignore=shutil.ignore_patterns("log", "*.log"))
        set_version(app.src, "2")
        before = children(proc.pid)
        hook, slow_out = long_request_hook(tmp_path, "http://127.0.0.1:%d%s" % (port, seen["slow"]))
        given = {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": str(dest),
                 "wsgi_deploy_healthcheck_url": "http://127.0.0.1:%d%s" % (port, seen["fast"])}
        if server == "uwsgi":
            # The seeds log every request into their own directory: excluded, as the README asks.
            given.update(wsgi_deploy_reload_file=str(dest / "test.txt"), wsgi_deploy_exclude=["/uwsgi.log"])
        else:
            given.update(wsgi_deploy_pidfile=str(dest / "log" / "gunicorn.pid"),
                         wsgi_deploy_log_file=str(dest / "log" / "debug.log"), wsgi_deploy_exclude=["/log/"])

        with under_load(app, "http://127.0.0.1:%d%s" % (port, seen["fast"])) as load:
            time.sleep(1)
            run = app.run(wsgi_deploy_before_reload_tasks=hook, **given)
            assert run.returncode == 0, failure_of(run)
            deployed = result_of(run)
            time.sleep(1)
        report = load.report()
        deadline = time.monotonic() + 30
        while not slow_out.read_text().strip() and time.monotonic() < deadline:
            time.sleep(0.5)
        slow = json.loads(slow_out.read_text())
        rerun = result_of(app.run(check=True, **given))

        assert report["failed"] == 0 and report["ok"] > 50 and seen["body"] in report["bodies"], report
        # In flight when the reload began, answered by an old worker.
        assert slow["started"] < deployed["started_at"] < slow["ended"], (slow, deployed["started_at"])
        assert (slow["status"], slow["body"]) == (200, seen["slow_body"]), slow
        assert deployed["reloaded"] is True and deployed["method"] == seen["method"], deployed
        # Every worker replaced, the master kept.
        assert deployed["master_pid"] == proc.pid and proc.poll() is None
        assert len(deployed["old_pids"]) == len(deployed["new_pids"]) == seen["workers"]
        assert set(deployed["old_pids"]) <= set(before)
        assert not set(deployed["new_pids"]) & set(before) and set(deployed["new_pids"]) <= set(children(proc.pid))
        if server == "uwsgi":
            assert deployed["ended_by"] == "log: chain reloading complete"
            assert deployed["log_file"] == str(dest / "uwsgi.log")
        assert 'VERSION = "2"' in (dest / "main.py").read_text()
        for name in seen["kept"]:
            assert (dest / name).exists(), name
        assert rerun["changed"] is False and rerun["reloaded"] is False, rerun
    finally:
        os.killpg(proc.pid, 9)
        proc.wait()
