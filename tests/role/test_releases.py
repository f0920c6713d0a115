"""Releases of a role-managed app: what each deploy adds, what it keeps, what it refuses."""
import json
import os
import time

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import (assert_no_request_failed, cut_off_hook, failure_of, get, live, releases, result_of, set_version,
                     under_load)
from testservers import break_import




def test_each_change_is_a_new_release_sharing_unchanged_files_by_hard_link(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    first = live(app)
    set_version(app, "2")
    result = result_of(app.run(check=True))

    assert releases(app) == sorted([first, live(app)]) and live(app) != first
    assert result["release"] == live(app) and result["previous_release"] == first
    old, new = (os.path.join(app.root, "releases", name) for name in (first, live(app)))
    assert os.stat(old + "/requirements.txt").st_ino == os.stat(new + "/requirements.txt").st_ino
    assert os.stat(old + "/main.py").st_ino != os.stat(new + "/main.py").st_ino
    assert get(app.port) == "hello v2"


def test_a_redeploy_with_nothing_changed_makes_no_release_even_from_a_fresh_checkout(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    before = releases(app)
    later = time.time() + 3600  # a new checkout gives every file a new mtime
    for name in os.listdir(app.src):
        os.utime(os.path.join(app.src, name), (later, later))
    result = result_of(app.run(check=True))
    assert releases(app) == before
    assert result["changed"] is False and result["release"] == ""


def test_only_the_newest_releases_are_kept_and_the_live_one_always(deploy):
    app = deploy("gunicorn")
    for version in "1234":
        set_version(app, version)
        app.run(check=True, wsgi_deploy_keep_releases=2)
    assert len(releases(app)) == 2 and live(app) == releases(app)[-1]
    assert get(app.port) == "hello v4"


def test_a_release_that_cannot_import_is_removed_and_the_live_one_keeps_serving(deploy):
    # The import check runs in the release's virtualenv, before either server is touched.
    app = deploy("gunicorn")
    app.run(check=True)
    master = int(open(app.pidfile).read())
    workers = processes.children(master)
    before, current = releases(app), live(app)

    break_import(app.src)
    with under_load(app) as load:
        run = app.run()

    assert run.returncode != 0
    assert_no_request_failed(load)
    assert "stopped before the new release went live" in run.stdout
    assert "this release cannot be imported" in run.stdout
    assert releases(app) == before and live(app) == current
    assert processes.children(master) == workers
    assert get(app.port) == "hello v1"


def break_health(src):
    """The release's health check answers 500, as an app whose database is gone; its pages still answer."""
    path = os.path.join(src, "main.py")
    with open(path) as handle:
        code = handle.read()
    with open(path, "w") as handle:
        handle.write(code.replace('return "ok\\n"', 'return "database unreachable\\n", 500'))


def test_a_release_that_answers_500_is_rolled_back_by_itself(deploy):
    # The rollback is the server's graceful reload onto the previous release: each method's reload
    # under load is tests/integration/test_reload_methods.py's, uWSGI's rollback by hand is below.
    app = deploy("gunicorn")
    app.run(check=True)
    master = int(open(app.pidfile).read())
    before, current = releases(app), live(app)

    set_version(app, "2")
    break_health(app.src)
    with under_load(app) as load:
        run = app.run(wsgi_deploy_healthcheck_path="/healthz")

    assert run.returncode != 0
    assert_no_request_failed(load)
    failure = failure_of(run)
    assert '"Go live | Switch to the new release unless Release did, reload gracefully, check that the app answers, record, prune, unlock" failed' in failure
    assert "the app does not answer its health check as expected: status 500 where 200 was expected" in failure
    assert "The app answered: database unreachable" in failure
    assert "Rolled back to release %s" % current in failure
    assert live(app) == current and releases(app) == before
    assert int(open(app.pidfile).read()) == master
    assert get(app.port) == "hello v1"


def test_a_setting_that_cannot_run_is_rolled_back_with_the_config_it_came_in(deploy):
    # It passes Validate and the config's check, and the new master cannot start its workers.
    app = deploy("gunicorn")
    app.run(check=True)
    config = os.path.join(app.root, "etc", "gunicorn.conf.py")
    with open(config) as handle:
        before = handle.read()
    current = live(app)
    cannot_run = {"worker_tmp_dir": "/nonexistent/wsgi-deploy-test"}

    # The setting alone, with the live code: no release to go back from, only the config.
    run = app.run(wsgi_deploy_server_settings=cannot_run)
    assert run.returncode != 0
    assert "Put back %s as they were; release %s answers again" % (config, current) in failure_of(run), failure_of(run)
    with open(config) as handle:
        assert handle.read() == before, "the config that cannot run stayed"
    assert live(app) == current and get(app.port) == "hello v1"

    set_version(app, "2")
    run = app.run(wsgi_deploy_server_settings=cannot_run)

    assert run.returncode != 0
    assert "Rolled back to release %s" % current in failure_of(run), failure_of(run)
    with open(config) as handle:
        assert handle.read() == before, "the config that cannot run stayed"
    assert live(app) == current and get(app.port) == "hello v1"
    # The next deploy starts from what runs, and a good one goes live.
    assert result_of(app.run(check=True))["reloaded"] is True and get(app.port) == "hello v2"


def test_rollback_by_hand_goes_to_the_previous_release_or_a_named_one_with_its_config(deploy):
    app = deploy("uwsgi")
    config = os.path.join(app.root, "etc", "uwsgi.ini")
    app.run(check=True, wsgi_deploy_workers=2)
    first, first_config = live(app), open(config).read()
    set_version(app, "2")
    app.run(check=True, wsgi_deploy_workers=3)
    second, second_config = live(app), open(config).read()
    assert second_config != first_config

    # The config goes back with the release: uWSGI reads its ini when its master starts again.
    run = app.run(playbook="rollback.yml", check=True)
    assert live(app) == first and get(app.port) == "hello v1"
    assert open(config).read() == first_config
    reloaded = [task["hosts"]["localhost"] for play in json.loads(run.stdout)["plays"] for task in play["tasks"]
                if task["task"]["name"].endswith("Reload the running server onto the earlier release, and check that it answers")]
    assert [result.get("method") for result in reloaded] == ["full"], reloaded
    # The release's own record is the live one again: its code and settings, deployed again, are nothing to do.
    set_version(app, "1")
    again = result_of(app.run(check=True, wsgi_deploy_workers=2))
    assert again["changed"] is False and again["reloaded"] is False, again

    app.run(playbook="rollback.yml", check=True, wsgi_deploy_rollback_to=second)
    assert live(app) == second and get(app.port) == "hello v2"
    assert open(config).read() == second_config
    assert releases(app) == sorted([first, second])


def test_rollback_by_hand_skips_a_release_that_never_answered_as_the_live_one(deploy, tmp_path):
    app = deploy("gunicorn")
    app.run(check=True)
    first = live(app)
    # A deploy cut off after its switch, before its reload and health check, as a lost controller would.
    hook = cut_off_hook(tmp_path, after="switch")
    set_version(app, "2")
    assert app.run(wsgi_deploy_before_reload_tasks=hook).returncode != 0
    never_live = live(app)
    set_version(app, "3")
    app.run(check=True)
    assert releases(app) == sorted([first, never_live, live(app)]) and get(app.port) == "hello v3"

    run = app.run(playbook="rollback.yml", check=True)

    assert live(app) == first and get(app.port) == "hello v1", run.stdout[-3000:]


def test_rollback_to_a_release_that_does_not_exist_is_refused_and_changes_nothing(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    current = live(app)
    run = app.run(playbook="rollback.yml", wsgi_deploy_rollback_to="19990101T000000Z")
    assert run.returncode != 0
    assert "cannot roll back" in run.stdout and "Nothing was changed" in run.stdout
    assert live(app) == current and get(app.port) == "hello v1"


def test_a_health_check_that_wants_text_the_app_does_not_answer_rolls_back(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    current = live(app)
    set_version(app, "2")
    # Version 1 answers "hello v1", which has the text; version 2 does not.
    run = app.run(wsgi_deploy_healthcheck_text="v1")
    assert run.returncode != 0
    assert "The app answered: hello v2" in run.stdout
    assert "Rolled back to release %s" % current in run.stdout
    assert live(app) == current and get(app.port) == "hello v1"


def test_a_rollback_that_fails_its_health_check_too_says_so(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    current = live(app)
    set_version(app, "2")
    # The rollback's check waits its whole timeout for an answer that never comes: 5 s, not 30.
    run = app.run(wsgi_deploy_healthcheck_text="hello v9", wsgi_deploy_healthcheck_timeout=5)
    assert run.returncode != 0
    assert "The rollback to release %s failed too" % current in run.stdout
    assert live(app) == current and get(app.port) == "hello v1"
