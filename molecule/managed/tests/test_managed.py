"""What a user of a role-managed server cares about, checked on the instance after the deploys."""
import json

import pytest

ROOT = "/srv/hello"
UNIT = "wsgi-hello.service"


# Each instance's server and port (molecule.yml's host_vars).
INSTANCES = {"managed-gunicorn": ("gunicorn", 18101), "managed-uwsgi": ("uwsgi", 18102),
             "managed-uvicorn": ("uvicorn", 18103)}


@pytest.fixture(scope="module")
def server(host):
    return INSTANCES[host.backend.get_hostname()][0]


@pytest.fixture(scope="module")
def port(host):
    return INSTANCES[host.backend.get_hostname()][1]


@pytest.fixture(scope="module")
def seen(host):
    return json.loads(host.file("/var/lib/wsgi-deploy-test/managed.json").content_string)


def http_get(host, port, path):
    script = ("import urllib.request as u; r = u.urlopen('http://127.0.0.1:%d%s', timeout=10); "
              "print(r.status); print(r.read().decode().strip())" % (port, path))
    status, body = host.check_output("python3 -c %s", script).split("\n", 1)
    return int(status), body


def test_service_is_enabled_and_running(host):
    service = host.service(UNIT)
    assert service.is_enabled
    assert service.is_running


def test_app_listens_on_its_port(host, port):
    assert host.socket("tcp://127.0.0.1:%d" % port).is_listening


def test_app_answers_with_the_new_version(host, port):
    assert http_get(host, port, "/") == (200, "hello v2")


def test_server_runs_as_the_app_user_not_root(host):
    master = int(host.file(ROOT + "/run/server.pid").content_string.strip())
    assert host.process.get(pid=master).user == "hello"


def test_app_user_is_a_system_user_without_a_login(host):
    user = host.user("hello")
    assert user.exists
    assert user.uid < 1000
    assert user.shell == "/usr/sbin/nologin"


@pytest.mark.parametrize("path", [ROOT + "/releases", ROOT + "/current/main.py", ROOT + "/venv/", ROOT + "/venvs",
                                  ROOT + "/etc"])
def test_code_and_config_belong_to_the_deployer_and_the_app_cannot_change_them(host, path):
    item = host.file(path)
    assert item.user == "root"
    assert not item.mode & 0o022


@pytest.mark.parametrize("path", [ROOT + "/log", ROOT + "/run"])
def test_app_user_owns_only_its_log_and_runtime_directories(host, path):
    item = host.file(path)
    assert item.is_directory and item.user == "hello" and item.mode == 0o750


def test_deployed_code_leaves_the_sources_vcs_and_bytecode_behind(host):
    # The app's source on the controller has both (molecule/shared/tasks/app_version.yml).
    assert host.file(ROOT + "/current/main.py").exists
    assert not host.file(ROOT + "/current/.git").exists
    assert not host.file(ROOT + "/current/__pycache__").exists


def test_current_points_at_the_newest_of_two_releases(host, seen):
    releases = sorted(host.file(ROOT + "/releases").listdir())
    assert len(releases) == 2, releases  # version 1 and 2; the unchanged rerun added none
    assert host.file(ROOT + "/current").is_symlink
    assert host.file(ROOT + "/current").linked_to == ROOT + "/releases/" + releases[-1]
    assert seen["deploy"]["release"] == releases[-1]
    assert seen["deploy"]["previous_release"] == releases[0]


def test_a_release_shares_unchanged_files_with_the_previous_one_by_hard_link(host):
    old, new = sorted(host.file(ROOT + "/releases").listdir())
    inode = "stat -c %%i %s/releases/%s/%s"
    assert host.check_output(inode, ROOT, old, "requirements.txt") == \
        host.check_output(inode, ROOT, new, "requirements.txt")
    assert host.check_output(inode, ROOT, old, "main.py") != \
        host.check_output(inode, ROOT, new, "main.py")


def test_server_config_is_made_for_graceful_reloads(host, server):
    if server == "gunicorn":
        config = host.file(ROOT + "/etc/gunicorn.conf.py").content_string
        assert "preload_app = False" in config
        assert 'pidfile = "%s/run/server.pid"' % ROOT in config
    elif server == "uvicorn":
        # Its settings are its command line; its workers import the role's module, which imports the
        # app through current.
        exec_start = host.check_output("systemctl show -p ExecStart --value %s", UNIT)
        assert "--workers 2 " in exec_start and "--app-dir %s/etc/python " % ROOT in exec_start
        module = host.file(ROOT + "/etc/python/wsgi_deploy_app.py").content_string
        assert 'sys.path.insert(0, "%s/current")' % ROOT in module
    else:
        config = host.file(ROOT + "/etc/uwsgi.ini").content_string
        assert "lazy-apps = true" in config
        assert "touch-chain-reload = %s/run/reload.touch" % ROOT in config
        assert "binary-path = %s/venv/bin/python" % ROOT in config


@pytest.mark.parametrize("prop,value", [
    ("NoNewPrivileges", "yes"), ("ProtectSystem", "strict"), ("ProtectHome", "yes"),
    ("PrivateTmp", "yes"), ("PrivateDevices", "yes"), ("User", "hello"),
])
def test_unit_is_hardened(host, prop, value):
    assert host.check_output("systemctl show -p %s --value %s", prop, UNIT) == value


def test_unit_is_rated_at_most_2_by_systemd_analyze_security(host):
    report = host.check_output("systemd-analyze security --no-pager %s", UNIT)
    # "-> Overall exposure level for wsgi-hello.service: 1.5 OK :-)"
    level = float(report.rsplit("Overall exposure level for %s:" % UNIT, 1)[1].split()[0])
    assert level <= 2.0, report


def test_shared_paths_are_links_into_shared_that_the_app_can_write(host):
    for path in ("uploads", ".env"):
        link = host.file(ROOT + "/current/" + path)
        assert link.is_symlink and link.linked_to == ROOT + "/shared/" + path
        assert host.file(ROOT + "/shared/" + path).user == "hello"
    assert oct(host.file(ROOT + "/shared/.env").mode) == "0o640"
    assert ROOT + "/shared" in host.check_output("systemctl show -p ReadWritePaths --value %s", UNIT)


def test_the_app_runs_from_the_live_virtualenv_through_the_venv_link(host, server):
    venvs = host.file(ROOT + "/venvs").listdir()
    assert len(venvs) == 1
    assert host.file(ROOT + "/venv").linked_to == ROOT + "/venvs/" + venvs[0]
    exec_start = host.check_output("systemctl show -p ExecStart --value %s", UNIT)
    assert "%s/venv/bin/python %s/venv/bin/%s " % (ROOT, ROOT, server) in exec_start


def test_reload_under_load_failed_no_request(seen):
    assert seen["load"]["failed"] == 0, seen["load"]
    assert seen["load"]["ok"] > 50, seen["load"]
    assert "hello v2" in seen["load"]["bodies"], seen["load"]


def test_request_in_flight_during_the_reload_finished_with_200_from_the_old_code(seen):
    slow, deploy = seen["slow"], seen["deploy"]
    assert slow["started"] < deploy["started_at"] < slow["ended"], (slow, deploy["started_at"])
    assert slow["status"] == 200
    assert slow["body"] == "slow done v1"


def test_reload_replaced_every_worker_and_kept_the_master(seen, server):
    deploy = seen["deploy"]
    assert deploy["reloaded"] is True and deploy["changed"] is True
    assert deploy["method"] == {"gunicorn": "ttin", "uwsgi": "chain", "uvicorn": "hup"}[server]
    assert deploy["master_pid"] == seen["before"]["master_pid"] == seen["after"]["master_pid"]
    assert sorted(deploy["old_pids"]) == sorted(seen["before"]["workers"])
    assert len(deploy["new_pids"]) == 2
    assert not set(deploy["new_pids"]) & set(seen["before"]["workers"])
    assert set(deploy["new_pids"]) <= set(seen["after"]["workers"])


def test_deploy_with_nothing_changed_reports_no_change_and_does_not_reload(seen):
    rerun = seen["rerun"]
    assert rerun["changed"] is False and rerun["reloaded"] is False
    assert rerun["method"] == "none"
    assert seen["after"]["workers"] == seen["deploy"]["new_pids"]
