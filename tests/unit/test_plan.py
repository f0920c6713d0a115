"""The deploy's plan, in process: where everything goes, what the sync sends, and keys that stay what
earlier versions recorded on servers (an upgrade of the role makes no new release or virtualenv)."""
import hashlib
import json
import subprocess

import pytest

from ansible.parsing.dataloader import DataLoader
from ansible.template import Templar, trust_as_template

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env, plan, releases, source_tree

from test_inputs import defaults


@pytest.fixture
def src(tmp_path):
    app = tmp_path / "app"
    app.mkdir()
    (app / "main.py").write_text("def app(environ, start_response): pass\n")
    (app / "requirements.txt").write_text("-e .\nflask==3.1.3\n\n")
    (app / ".env").write_text("SECRET=1\n")
    return app


def planned(src, **given):
    return plan.plan(defaults(dict({"wsgi_deploy_src": str(src)}, **given)), **given.pop("_context", {}))


def jinja(expression, **variables):
    """An expression as the role's Jinja evaluated it, through Ansible's own templating."""
    return Templar(loader=DataLoader(), variables=variables).template(trust_as_template(expression))


def test_a_managed_app_lives_under_its_root(src):
    found = planned(src, wsgi_deploy_name="shop", wsgi_deploy_server="uwsgi")
    assert found["current"] == "/srv/shop/current" and found["code_dir"] == "/srv/shop/current"
    assert found["config_file"] == "/srv/shop/etc/uwsgi.ini" and found["config_template"] == "uwsgi.ini.j2"
    assert found["pidfile"] == "/srv/shop/run/server.pid" and found["lock"] == "/srv/shop/.deploy.lock"
    assert found["fleet_lock"] == "/srv/.shop.fleet.lock" and found["unit_path"] == "/etc/systemd/system/wsgi-shop.service"
    assert found["server_argv"] == ["/srv/shop/venv/bin/python", "/srv/shop/venv/bin/uwsgi", "--ini",
                                    "/srv/shop/etc/uwsgi.ini"]
    assert (found["master_path"], found["master_user"], found["master_unit"]) == (
        "/srv/shop/etc/uwsgi.ini", "shop", "wsgi-shop.service")
    # What each release keeps of the config it goes live with, and a rollback by hand puts back.
    assert found["config_files"] == ["/srv/shop/etc/uwsgi.ini", "/srv/shop/etc/python/wsgi_deploy_env.py",
                                     "/etc/systemd/system/wsgi-shop.service"]
    assert planned(src, wsgi_deploy_name="shop", wsgi_deploy_service_manager="none")["config_files"] == [
        "/srv/shop/etc/gunicorn.conf.py"]


def test_a_server_set_up_by_hand_keeps_its_own_files_and_its_locks_lie_beside_it(src):
    found = planned(src, wsgi_deploy_manage_server=False, wsgi_deploy_dest="/opt/site/",
                    wsgi_deploy_pidfile="/opt/site/run/app.pid", wsgi_deploy_log_file="/var/log/site.log")
    assert found["code_dir"] == "/opt/site/" and found["lock"] == "/opt/.site.deploy.lock"
    assert found["drain_mark"] == "/opt/.site.drained" and found["master_user"] == "" and found["master_unit"] == ""
    assert found["config_files"] == []
    # Its pidfile lies inside the synced directory: never sent, so never deleted; its log does not.
    assert "/run/app.pid" in found["sync_excludes"] and not any("site.log" in x for x in found["sync_excludes"])


def test_a_server_set_up_by_hand_needs_no_requirements_file(src):
    (src / "requirements.txt").unlink()
    found = planned(src, wsgi_deploy_manage_server=False, wsgi_deploy_dest="/opt/site",
                    wsgi_deploy_requirements="requirements.txt")
    assert found["requirements_editable"] is False
    with pytest.raises(OSError):
        planned(src, wsgi_deploy_requirements="requirements.txt")


def test_the_sync_leaves_out_the_role_files_shared_paths_and_what_is_left_behind(src):
    found = planned(src, wsgi_deploy_shared_dirs=["media/"], wsgi_deploy_shared_files=["conf/local.py"])
    assert found["shared_paths"] == ["media", "conf/local.py"] and found["shared_parents"] == ["conf"]
    assert found["left_behind"] == ["/.env"]
    expected = list(plan.DEFAULT_EXCLUDES) + ["/" + name for name in plan.ROLE_FILES] + ["/media", "/conf/local.py",
                                                                                         "/.env"]
    assert found["sync_excludes"] == expected
    assert found["rsync_opts"] == [plan.RSYNC_CHMOD] + ["--exclude=" + name for name in expected]
    assert found["source_digest"] == source_tree.tree_digest(str(src), expected)


def test_the_role_files_are_named_where_the_modules_that_write_them_name_them(src):
    found = planned(src)
    assert found["role_files"] == [releases.VENV_MARKER, releases.RELEASE_MARKER, releases.WENT_LIVE_MARKER,
                                   releases.RELEASE_RECORD, releases.CONFIG_KEPT, app_env.FILE_NAME]
    assert (found["record_file"], found["venv_complete_file"]) == (releases.RECORD, releases.VENV_COMPLETE)


def test_editable_lines_that_install_the_source_are_installed_as_copies(src):
    found = planned(src, wsgi_deploy_requirements="requirements.txt")
    assert found["requirements_editable"] is True
    assert found["requirements_copied"] == ".\nflask==3.1.3"
    (src / "requirements.txt").write_text("flask==3.1.3\n")
    found = planned(src, wsgi_deploy_requirements="requirements.txt")
    assert (found["requirements_editable"], found["requirements_copied"]) == (False, "")


@pytest.mark.parametrize("given,chosen,new_master", [
    # A role-managed gunicorn: new workers serve beside the old ones (ttin). One set up by hand
    # keeps hup, which reads its config again.
    ({"wsgi_deploy_server": "gunicorn"}, ("ttin", 95), ("usr2", 95)),
    ({"wsgi_deploy_server": "gunicorn", "wsgi_deploy_manage_server": False}, ("hup", 95), ("usr2", 95)),
    ({"wsgi_deploy_server": "gunicorn", "wsgi_deploy_reload_method": "hup"}, ("hup", 95), ("usr2", 95)),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_manage_server": False}, ("chain", 2 * 60), ("full", 95)),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_workers": 4}, ("chain", 4 * 60), ("full", 95)),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_reload_method": "workers"}, ("workers", 95), ("full", 95)),
    ({"wsgi_deploy_server": "uwsgi", "wsgi_deploy_reload_timeout": 7}, ("chain", 7), ("full", 7)),
    # uvicorn has one method, which keeps the master: its new workers run the new virtualenv.
    ({"wsgi_deploy_server": "uvicorn"}, ("hup", 95), ("hup", 95)),
])
def test_each_reload_has_its_method_and_a_timeout_that_lets_the_longest_request_finish(src, given, chosen, new_master):
    found = planned(src, **given)["reloads"]
    assert (found["chosen"]["method"], found["chosen"]["timeout"]) == chosen
    assert (found["new_master"]["method"], found["new_master"]["timeout"]) == new_master


def test_once_only_commands_run_on_the_first_host_of_the_play_only(src):
    v = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_release_commands_once": [["migrate"]],
                  "wsgi_deploy_release_commands": [["collectstatic"]]})
    first = plan.plan(v, hostname="web1", play_hosts=["web1", "web2"])
    second = plan.plan(v, hostname="web2", play_hosts=["web1", "web2"])
    assert first["release_commands"] == [["migrate"], ["collectstatic"]]
    assert second["release_commands"] == [["collectstatic"]]
    assert first["release_key"] == second["release_key"]


@pytest.mark.parametrize("drain,before_restart,before_reload", [
    ("auto", True, False), ("always", True, True), ("never", False, False)])
def test_behind_haproxy_a_restart_is_drained_unless_never_and_a_reload_only_with_always(
        src, drain, before_restart, before_reload):
    v = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_haproxy_host": "lb", "wsgi_deploy_drain": drain})
    found = plan.plan(v)
    assert (found["drain_before_restart"], found["drain_before_reload"], found["wrapped"]) == (
        before_restart, before_reload, True)


def test_check_mode_and_a_host_without_haproxy_leave_the_balancer_alone(src):
    v = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_haproxy_host": "lb", "wsgi_deploy_drain": "always"})
    for found in (plan.plan(v, check_mode=True), plan.plan(dict(v, wsgi_deploy_haproxy_host=""))):
        assert not (found["balanced"] or found["drain_before_restart"] or found["drain_before_reload"])


def test_without_the_source_only_the_layout_is_planned(tmp_path):
    found = plan.plan(defaults({"wsgi_deploy_src": str(tmp_path / "gone")}), read_source=False)
    assert found["lock"] == "/srv/app/.deploy.lock" and "source_digest" not in found


# The role's Jinja for the keys, as version 1.1 evaluated it: servers hold these keys in their records.
VENV_KEY_1_1 = ("{{ (wsgi_deploy_python ~ '\\n' ~ package ~ '\\n' ~ text ~ ('\\n' ~ source if local else ''))"
                " | hash('sha256') | truncate(12, true, '') }}")
RELEASE_KEY_1_1 = ("{{ ([source, shared] + ([commands_key, env_digest, writable] if extras else []))"
                   " | to_json | hash('sha256') }}")
INPUTS_1_1 = ("{{ {'format': 1, 'source': source, 'files': files, 'venv': venv, 'shared': shared, 'user': user,"
              " 'excludes': excludes} | combine(extra) | to_json | hash('sha256') }}")


@pytest.mark.parametrize("given", [
    {},
    {"wsgi_deploy_requirements": "requirements.txt"},
    {"wsgi_deploy_shared_dirs": ["media"], "wsgi_deploy_env": {"SECRET_KEY": "x"},
     "wsgi_deploy_release_commands_once": [["migrate"]], "wsgi_deploy_release_writable_dirs": ["cache/"]},
])
def test_the_keys_are_those_the_roles_jinja_gave_before(src, given):
    v = defaults(dict({"wsgi_deploy_src": str(src)}, **given))
    found = plan.plan(v)
    text = (src / "requirements.txt").read_text().rstrip() if v["wsgi_deploy_requirements"] else ""
    assert found["venv_key"] == jinja(VENV_KEY_1_1, wsgi_deploy_python=v["wsgi_deploy_python"],
                                      package=v["wsgi_deploy_gunicorn_package"], text=text,
                                      source=found["source_digest"], local=bool(v["wsgi_deploy_requirements"]))
    once, each = v["wsgi_deploy_release_commands_once"], v["wsgi_deploy_release_commands"]
    extras = bool(once or each or v["wsgi_deploy_env"] or v["wsgi_deploy_release_writable_dirs"])
    env_digest = app_env.digest(v["wsgi_deploy_env"], v["wsgi_deploy_root"]) if v["wsgi_deploy_env"] else ""
    writable = [path.rstrip("/") for path in v["wsgi_deploy_release_writable_dirs"]]
    assert found["release_key"] == jinja(RELEASE_KEY_1_1, source=found["source_digest"],
                                         shared=found["shared_paths"], commands_key=[once, each] if once else each,
                                         env_digest=env_digest, writable=writable, extras=extras)
    files = {"/srv/app/etc/gunicorn.conf.py": "ab" * 32}
    extra = {"commands": [once, each] if once else each, "env": env_digest, "writable": writable} if extras else {}
    before = jinja(INPUTS_1_1, source=found["source_digest"], files=files, venv=found["venv_key"],
                   shared=found["shared_paths"], user=v["wsgi_deploy_user"],
                   excludes=found["inputs"]["excludes"], extra=extra)
    # The role adds the files' digests to the plan's inputs with the same filters.
    now = jinja("{{ inputs | combine({'files': files}) | to_json | hash('sha256') }}", inputs=found["inputs"],
                files=files)
    assert now == before
    assert now == hashlib.sha256(json.dumps(dict(found["inputs"], files=files)).encode()).hexdigest()


def test_uvicorns_command_line_writes_its_pid_and_log_and_imports_the_roles_module(src):
    found = planned(src, wsgi_deploy_server="uvicorn", wsgi_deploy_bind="0.0.0.0:8001", wsgi_deploy_workers=3)
    argv = found["server_argv"]
    assert argv[:7] == ["/bin/sh", "-c", plan.SERVER_LAUNCH, "wsgi-deploy-uvicorn", "/srv/app/run/server.pid",
                        "/srv/app/log/server.log", "/dev/null"]
    assert argv[7:12] == ["/srv/app/venv/bin/python", "/srv/app/venv/bin/uvicorn", "wsgi_deploy_app:app",
                          "--app-dir", "/srv/app/etc/python"]
    options = dict(zip(argv[12::2], argv[13::2]))
    assert options["--host"] == "0.0.0.0" and options["--port"] == "8001" and options["--workers"] == "3"
    assert options["--timeout-worker-healthcheck"] == "95" and options["--timeout-graceful-shutdown"] == "35"
    assert found["config_file"] == "/srv/app/etc/python/wsgi_deploy_app.py"
    assert found["master_path"] == "/srv/app/etc/python" and found["unit_template"] == "launched.service.j2"
    assert found["start_settings_file"] == ""
    # systemd sees one $ where the shell must: each is doubled, and the script is one quoted word.
    assert found["exec_start"].startswith('/bin/sh -c "echo $$$$ > \\"$$1\\" && log=$$2 && if [ -r ')
    # Without systemd nothing waits on it: setsid forks it into a session of its own.
    daemon = planned(src, wsgi_deploy_server="uvicorn", wsgi_deploy_bind="0.0.0.0:8001", wsgi_deploy_workers=3,
                     wsgi_deploy_service_manager="none")["server_argv"]
    assert daemon[:2] == ["/usr/bin/setsid", "--fork"] and daemon[2:] == argv


@pytest.mark.parametrize("interface, threads", [("wsgi", ["--blocking-threads", "4"]), ("asgi", [])])
def test_granians_command_line_reads_its_start_settings_and_names_the_roles_module_by_path(src, interface, threads):
    found = planned(src, wsgi_deploy_server="granian", wsgi_deploy_bind="[::]:8002", wsgi_deploy_threads=4,
                    wsgi_deploy_granian_interface=interface)
    argv = found["server_argv"]
    assert argv[:7] == ["/bin/sh", "-c", plan.SERVER_LAUNCH, "wsgi-deploy-granian", "/srv/app/run/server.pid",
                        "/srv/app/log/server.log", "/srv/app/etc/start-settings.env"]
    assert argv[7:11] == ["/srv/app/venv/bin/python", "/srv/app/venv/bin/granian", "--interface", interface]
    assert argv[-1] == "/srv/app/etc/python/wsgi_deploy_app:app" and found["master_path"] == "/srv/app/etc/python"
    assert argv[11:-1] == ["--host", "::", "--port", "8002", "--workers", "2", "--workers-kill-timeout", "35",
                           "--log-level", "info"] + threads
    assert found["config_template"] == "app_module.py.j2" and found["unit_template"] == "launched.service.j2"


@pytest.mark.parametrize("seconds, interval", [(None, 3.5), (0.2, 3.5), (1.0, 4), (5.0, 10), (5.01, 10), (30, 47)])
def test_granians_respawn_interval_outlasts_the_measured_import(seconds, interval):
    assert plan.respawn_interval(seconds) == interval
    assert plan.start_settings(seconds).endswith("\nGRANIAN_RESPAWN_INTERVAL=%s\n" % interval)


def test_a_new_virtualenv_restarts_granian_whose_workers_are_forked_from_its_master(src):
    found = planned(src, wsgi_deploy_server="granian")
    host = {"user": "root", "stamp": "20261207T000000Z", "status": {"running": True, "master_pid": 7}}
    live = {"release_key": "other", "release": "20261206T000000Z", "venv": found["venv_key"]}
    files = [found["config_file"], found["unit_path"]]
    same_venv = plan.after_preflight(defaults({"wsgi_deploy_server": "granian"}), found, host,
                                     {"live": live, "vouched": True, "files_matching": files})
    assert not same_venv["restart"] and same_venv["switch_at_golive"] and not same_venv["new_master"]
    new_venv = plan.after_preflight(defaults({"wsgi_deploy_server": "granian"}), found, host,
                                    {"live": dict(live, venv="0ld"), "vouched": True, "files_matching": files})
    assert new_venv["restart"] and new_venv["starts"] and new_venv["switch_in_release"]
    # uvicorn spawns each new worker with `venv`'s Python: its reload takes a new virtualenv.
    uvicorn = planned(src, wsgi_deploy_server="uvicorn")
    kept = plan.after_preflight(defaults({"wsgi_deploy_server": "uvicorn"}), uvicorn, host,
                                {"live": dict(live, venv="0ld"), "vouched": True,
                                 "files_matching": [uvicorn["config_file"], uvicorn["unit_path"]]})
    assert not kept["restart"] and kept["switch_at_golive"]


def test_a_launch_script_run_by_sh_writes_the_pid_of_what_it_becomes_with_its_start_settings(tmp_path):
    pidfile, log, settings = tmp_path / "pid", tmp_path / "log", tmp_path / "start.env"
    settings.write_text(plan.start_settings(5.0))
    done = subprocess.run(["/bin/sh", "-c", plan.SERVER_LAUNCH, "name", str(pidfile), str(log), str(settings),
                           "/bin/sh", "-c", "echo out $$ $GRANIAN_RESPAWN_INTERVAL; echo err >&2"],
                          capture_output=True, text=True)
    assert done.returncode == 0 and done.stdout == ""
    assert log.read_text() == "out %s 10\nerr\n" % pidfile.read_text().strip()
    # Without the file (a server that has none), the server's own default holds.
    done = subprocess.run(["/bin/sh", "-c", plan.SERVER_LAUNCH, "name", str(pidfile), str(log), "/dev/null",
                           "/bin/sh", "-c", "echo again ${GRANIAN_RESPAWN_INTERVAL:-unset}"])
    assert done.returncode == 0 and log.read_text().endswith("again unset\n")
