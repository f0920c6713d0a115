"""Servers set up by hand as in the seed: deployed into and reloaded by the role, under load."""
import json

import pytest

SERVERS = {
    "uwsgi": {"dest": "/opt/seed-uwsgi", "port": 18103, "path": "/version", "body": "v2",
              "slow_body": "hello eeee v1", "workers": 4},
    "gunicorn": {"dest": "/opt/seed-gunicorn", "port": 18104, "path": "/",
                 "body": "hello fdaf fdafd v2", "slow_body": "slow v1", "workers": 2},
}


@pytest.fixture(scope="module", params=sorted(SERVERS))
def server(request, host):
    name = request.param
    seen = json.loads(host.file("/var/lib/wsgi-deploy-test/byo-%s.json" % name).content_string)
    return dict(SERVERS[name], name=name, seen=seen)


def http_get(host, port, path):
    script = ("import urllib.request as u; r = u.urlopen('http://127.0.0.1:%d%s', timeout=30); "
              "print(r.status); print(r.read().decode().strip())" % (port, path))
    status, body = host.check_output("python3 -c %s", script).split("\n", 1)
    return int(status), body


def test_server_started_by_hand_still_runs(host, server):
    assert host.service("seed-%s" % server["name"]).is_running


def test_app_answers_with_the_new_version(host, server):
    assert http_get(host, server["port"], server["path"]) == (200, server["body"])


def test_new_code_landed_in_place(host, server):
    assert 'VERSION = "2"' in host.file(server["dest"] + "/main.py").content_string


def test_files_the_sync_did_not_bring_are_kept(host, server):
    kept = {"uwsgi": ["uwsgi.log", "test.txt"],
            "gunicorn": ["log/gunicorn.pid", "log/debug.log", "log/access.log"]}[server["name"]]
    for name in kept:
        assert host.file("%s/%s" % (server["dest"], name)).exists, name


def test_reload_under_load_failed_no_request(server):
    load = server["seen"]["load"]
    assert load["failed"] == 0, load
    assert load["ok"] > 50, load
    assert server["body"] in load["bodies"], load


def test_long_request_in_flight_during_the_reload_finished_with_200(server):
    slow, deploy = server["seen"]["slow"], server["seen"]["deploy"]
    assert slow["started"] < deploy["started_at"] < slow["ended"], (slow, deploy["started_at"])
    assert (slow["status"], slow["body"]) == (200, server["slow_body"])


def test_reload_replaced_every_worker_and_kept_the_master(server):
    seen = server["seen"]
    deploy = seen["deploy"]
    assert deploy["reloaded"] is True
    assert deploy["method"] == {"uwsgi": "chain", "gunicorn": "hup"}[server["name"]]
    assert deploy["master_pid"] == seen["before"]["master_pid"] == seen["after"]["master_pid"]
    assert len(deploy["old_pids"]) == len(deploy["new_pids"]) == server["workers"]
    assert set(deploy["old_pids"]) <= set(seen["before"]["workers"])
    assert not set(deploy["new_pids"]) & set(seen["before"]["workers"])
    assert set(deploy["new_pids"]) <= set(seen["after"]["workers"])


def test_uwsgi_without_pidfile_or_log_file_was_found_and_watched_through_its_stderr(host):
    seen = json.loads(host.file("/var/lib/wsgi-deploy-test/byo-uwsgi.json").content_string)
    assert seen["deploy"]["ended_by"] == "log: chain reloading complete"
    assert seen["deploy"]["log_file"] == "/opt/seed-uwsgi/uwsgi.log"


def test_deploy_with_nothing_changed_reports_no_change_and_does_not_reload(server):
    rerun = server["seen"]["rerun"]
    assert rerun["changed"] is False and rerun["reloaded"] is False
