"""The deploy's decisions once Preflight saw the host (plan.after_preflight), in process: what it
builds, writes, starts, switches and reloads, from the plan and what is live."""
import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import plan

from test_inputs import defaults
from test_plan import jinja, src  # noqa: F401 (src is a fixture)

STAMP = "20261207T050000000000Z"


def seen(found, release_key=None, venv=None, running=True, matching=None, vouched=True, unchanged=False,
         prepared="", user="root"):
    """What Preflight reports for a host whose live release has release_key and virtualenv venv."""
    files = [found["config_file"], found["unit_path"], found["env_loader"]]
    return {"user": user, "stamp": STAMP, "unchanged": unchanged, "vouched": vouched, "venv_ready": False,
            "status": {"running": running, "master_pid": 4242 if running else None},
            "live": {"release": "20261201T000000000000Z" if release_key else "", "release_key": release_key or "",
                     "venv": venv or ""},
            "files_matching": files if matching is None else matching, "record": {"prepared": prepared}}


def decided(src, host, check_mode=False, **given):
    """The plan, and its decisions for the host that host(plan) describes."""
    v = defaults(dict({"wsgi_deploy_src": str(src)}, **given))
    found = plan.plan(v)
    seen_there = host(found)
    return found, plan.after_preflight(v, found, seen_there, seen_there, check_mode)


def test_a_one_line_change_on_a_running_server_is_switched_and_reloaded_by_go_lives_call(src):
    found, got = decided(src, host=lambda f: seen(f, "an older key", f["venv_key"]))
    assert got["new_release"] and not got["venv_changed"] and got["writes"] == []
    assert got["release_dir"] == "/srv/app/releases/" + STAMP
    assert got["previous_release"] == "/srv/app/releases/20261201T000000000000Z"
    assert got["switch_at_golive"] and not got["switch_in_release"] and not got["starts"]
    assert got["code_changes"] and not got["new_master"]
    assert got["requirements_cwd"] == got["release_dir"] + ".partial"


def test_a_new_virtualenv_needs_a_new_master(src):
    (src / "requirements.txt").write_text("flask==3.1.3\n")
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], "an older venv"),
                         wsgi_deploy_requirements="requirements.txt")
    assert not got["new_release"] and got["venv_changed"] and got["new_master"] and got["switch_at_golive"]
    assert got["requirements_cwd"] == "/srv/app/current"


def test_requirements_that_install_the_apps_source_are_built_in_a_new_release_never_in_the_live_one(src):
    # The live release holds the shared paths, links into what the app's user writes: pip, run as
    # the deploying user, would copy what they lead to into the virtualenv.
    given = {"wsgi_deploy_requirements": "requirements.txt"}
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], "an older venv"), **given)
    assert found["requirements_local"] and got["venv_changed"] and got["new_release"]
    assert got["requirements_cwd"] == got["release_dir"] + ".partial"
    # The same virtualenv: nothing is built, and the live release stays.
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"]), **given)
    assert not got["new_release"] and not got["venv_changed"]


@pytest.mark.parametrize("hook", ["wsgi_deploy_before_reload_tasks", "wsgi_deploy_before_live_tasks",
                                  "wsgi_deploy_before_switch_tasks"])
def test_a_hook_between_switch_and_reload_makes_release_switch(src, hook):
    found, got = decided(src, host=lambda f: seen(f, "an older key", f["venv_key"]), **{hook: "hook.yml"})
    assert not got["switch_at_golive"] and got["switch_in_release"]


def test_release_commands_run_in_releases_own_task(src):
    found, got = decided(src, host=lambda f: seen(f, "an older key", f["venv_key"]),
                         wsgi_deploy_release_commands=[["python", "manage.py", "migrate"]])
    assert got["runs_commands"] and not got["switch_at_golive"] and got["switch_in_release"]


def test_a_changed_unit_restarts_a_running_server_and_a_changed_config_is_reloaded(src):
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["config_file"]]))
    assert got["writes"] == [found["unit_path"]] and got["unit_changed"] and not got["config_changed"]
    assert got["restart"] and got["starts"] and not got["first_deploy"]
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["unit_path"]]))
    assert got["writes"] == [found["config_file"]] and got["config_changed"] and got["code_changes"]
    # The default ttin adds workers to a master that does not read its config again: a new master.
    assert not got["restart"] and got["new_master"]
    found, got = decided(src, wsgi_deploy_reload_method="hup",
                         host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["unit_path"]]))
    assert got["config_changed"] and not got["restart"] and not got["new_master"], "gunicorn's HUP reads its config again"


def test_uwsgi_reads_a_changed_ini_only_in_a_new_master_and_has_an_env_loader(src):
    found, got = decided(src, wsgi_deploy_server="uwsgi",
                         host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["unit_path"]]))
    assert got["writes"] == [found["config_file"], found["env_loader"]] and got["new_master"]


def test_a_first_deploy_starts_the_server_and_is_stopped_if_it_fails(src):
    found, got = decided(src, host=lambda f: seen(f, running=False, matching=[]))
    assert got["starts"] and got["first_deploy"] and not got["restart"] and not got["switch_at_golive"]
    assert got["prepare"], "nothing recorded how this host was prepared"


def test_what_no_record_vouches_for_is_reloaded_onto_with_a_new_master(src):
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"], vouched=False))
    assert got["code_changes"] and got["new_master"] and not got["new_release"]


def test_an_unchanged_deploy_needs_a_running_server(src):
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"], unchanged=True))
    assert got["unchanged"] and not got["code_changes"]
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"], unchanged=True, running=False))
    assert not got["unchanged"]


def test_in_check_mode_a_new_release_exists_only_on_the_controller(src):
    found, got = decided(src, check_mode=True, host=lambda f: seen(f, "an older key", f["venv_key"]))
    assert not got["release_on_host"] and got["import_check"][-1] == "--chdir=/srv/app/current"


def test_the_import_check_imports_the_app_as_each_server_does(src):
    found, got = decided(src, host=lambda f: seen(f, "an older key", f["venv_key"]))
    venv = found["venv_dir"]
    assert got["import_check"] == [venv + "/bin/python", venv + "/bin/gunicorn", "--check-config",
                                   "--config=/srv/app/etc/gunicorn.conf.py", "--chdir=" + got["release_dir"]]
    found, got = decided(src, wsgi_deploy_server="uwsgi", host=lambda f: seen(f, "an older key", f["venv_key"]))
    assert got["import_check"][:2] == [found["venv_dir"] + "/bin/python", "-c"]
    assert got["import_check"][3:] == [got["release_dir"], "main:app"]
    # uvicorn's workers import the app as uWSGI's do, through the role's module.
    found, got = decided(src, wsgi_deploy_server="uvicorn", host=lambda f: seen(f, "an older key", f["venv_key"]))
    assert got["import_check"][:2] == [found["venv_dir"] + "/bin/python", "-c"]
    assert got["import_check"][3:] == [got["release_dir"], "main:app"]


def test_uvicorn_takes_a_new_virtualenv_and_a_new_module_by_hup_and_a_new_unit_by_a_restart(src):
    found, got = decided(src, wsgi_deploy_server="uvicorn", host=lambda f: seen(f, f["release_key"], "an older venv"))
    assert got["venv_changed"] and got["new_master"] and found["reloads"]["new_master"]["method"] == "hup"
    # The module differs, the unit does not: new workers import it.
    found, got = decided(src, wsgi_deploy_server="uvicorn",
                         host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["unit_path"]]))
    assert got["config_changed"] and not got["new_master"] and not got["restart"] and got["code_changes"]
    found, got = decided(src, wsgi_deploy_server="uvicorn",
                         host=lambda f: seen(f, f["release_key"], f["venv_key"], matching=[f["config_file"]]))
    assert got["unit_changed"] and got["restart"]


def test_hooks_read_the_release_they_run_around(src):
    found, got = decided(src, host=lambda f: seen(f, "an older key", f["venv_key"]))
    assert got["hook"] == {"app_dir": "/srv/app/current", "release": got["release_dir"],
                           "previous_release": got["previous_release"], "venv": found["venv_dir"],
                           "server": "gunicorn", "user": "app"}


def test_the_prepared_digest_is_the_one_the_roles_jinja_recorded(src):
    v = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_shared_dirs": ["media"], "wsgi_deploy_install_packages": True})
    expression = ("{{ [4, wsgi_deploy_user, wsgi_deploy_root, wsgi_deploy_python, wsgi_deploy_install_packages | bool,"
                  " deployer, wsgi_deploy_shared_dirs, wsgi_deploy_shared_files] | to_json | hash('sha256') }}")
    assert plan.prepared_digest(v, "deploy") == jinja(expression, deployer="deploy", **v)
    found, got = decided(src, host=lambda f: seen(f, f["release_key"], f["venv_key"],
                                                  prepared=plan.prepared_digest(defaults({"wsgi_deploy_src": str(src)}), "root")))
    assert not got["prepare"]


def test_booleans_given_as_words_are_read_as_jinjas_bool_reads_them(src):
    # -e wsgi_deploy_install_packages=no arrives as a string; the argument spec does not convert it.
    as_word = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_install_packages": "no"})
    as_bool = defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_install_packages": False})
    assert plan.prepared_digest(as_word, "root") == plan.prepared_digest(as_bool, "root")
    assert plan.layout(defaults({"wsgi_deploy_src": str(src), "wsgi_deploy_manage_server": "false",
                                 "wsgi_deploy_dest": "/opt/site"}))["managed"] is False


def test_a_host_to_prepare_gets_its_layout_shared_parents_before_the_shared_paths(src):
    found, got = decided(src, host=lambda f: seen(f, running=False, matching=[], user="deployer"),
                         wsgi_deploy_user="shop", wsgi_deploy_root="/srv/shop",
                         wsgi_deploy_shared_dirs=["media/uploads/"], wsgi_deploy_shared_files=["conf/local.env"])
    layout = got["layout"]
    assert got["prepare"] and layout["root"] == "/srv/shop"
    owners = [(entry["path"], entry["owner"], entry["group"], entry["mode"]) for entry in layout["directories"]]
    assert owners[:2] == [("", "deployer", "", "0755"), ("releases", "deployer", "shop", "0750")]
    assert ("log", "shop", "shop", "0750") in owners and ("run", "shop", "shop", "0750") in owners
    paths = [path for path, _, _, _ in owners]
    assert paths.index("shared") < paths.index("shared/conf") and paths.index("shared/media") < paths.index("shared/media/uploads")
    assert owners[-1] == ("shared/media/uploads", "shop", "shop", "0750")
    assert layout["files"] == [{"path": "shared/conf/local.env", "owner": "shop", "group": "shop", "mode": "0640"}]
    # A host prepared the same way before is not again, and has no layout to make.
    digest = got["prepared_digest"]
    _, again = decided(src, host=lambda f: seen(f, running=False, matching=[], user="deployer", prepared=digest),
                       wsgi_deploy_user="shop", wsgi_deploy_root="/srv/shop",
                       wsgi_deploy_shared_dirs=["media/uploads/"], wsgi_deploy_shared_files=["conf/local.env"])
    assert not again["prepare"] and again["layout"] == {}
