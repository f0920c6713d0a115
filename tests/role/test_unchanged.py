"""A deploy with nothing to do: the live deploy's record still holds, so the role only checks
that the app answers. Anything changed since that deploy, by the inputs or by hand, is noticed."""
import json
import os
import signal
import subprocess
import time

from helpers import cut_off_hook, failure_of, get, live, releases, result_of, set_version
from testservers import Server


def task_names(run):
    """The names of the tasks that ran, without the role's prefix."""
    return [task["task"]["name"].split(" : ", 1)[-1] for play in json.loads(run.stdout)["plays"]
            for task in play["tasks"] if not task["hosts"].get("localhost", {}).get("skipped")]


def ran(run, prefix):
    return [name for name in task_names(run) if name.startswith(prefix)]


def took_lock(run):
    """Whether the deploy took the lock: in Preflight's look at the server, or in Lock."""
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            name, result = task["task"]["name"], task["hosts"].get("localhost", {})
            if "Preflight | Look at the server, its master and what is live" in name and result.get("taken"):
                return True
            if "Lock | Take the deploy lock" in name and not result.get("skipped"):
                return True
    return False


def change_by_hand(app, change):
    """What a person (or a lost deploy) changes on the host behind the role's back."""
    if change == "config by hand":
        with open(os.path.join(app.root, "etc", "gunicorn.conf.py"), "a") as handle:
            handle.write("workers = 5\n")
    elif change == "venv link by hand":
        venv = os.path.join(app.root, "venv")
        target = os.readlink(venv)
        subprocess.run(["cp", "-al", os.path.join(app.root, target), os.path.join(app.root, target + "-copy")],
                       check=True)
        os.unlink(venv)
        os.symlink(target + "-copy", venv)
    elif change == "record removed":
        os.unlink(os.path.join(app.root, ".wsgi-deploy-live.json"))
    elif change == "server stopped":
        os.kill(int(open(app.pidfile).read()), signal.SIGTERM)
        deadline = time.monotonic() + 30
        while os.path.exists(app.pidfile) and time.monotonic() < deadline:
            time.sleep(0.1)


# A change to the source: tests/role/test_role_local.py's reload, whose next run does nothing.
# One app goes through every case in turn, each from what the one before put right.
def test_an_unchanged_deploy_does_nothing_and_what_changed_since_the_live_deploy_is_deployed_again(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    master = int(open(app.pidfile).read())
    before = releases(app)
    config = os.path.join(app.root, "etc", "gunicorn.conf.py")

    run = app.run(check=True)
    result = result_of(run)
    assert result["changed"] is False and result["reloaded"] is False and result["method"] == "none"
    assert result["healthcheck_status"] == 200, "the health check is still made"
    assert not took_lock(run) and not ran(run, "Release |") and not ran(run, "Go live | Reload")
    assert releases(app) == before and int(open(app.pidfile).read()) == master
    assert get(app.port) == "hello v1"

    extra = {}
    for change in ["variable", "config by hand", "venv link by hand", "record removed", "server stopped"]:
        if change == "variable":
            extra["wsgi_deploy_threads"] = 3
        change_by_hand(app, change)
        before_step = live(app)

        run = app.run(check=True, **extra)

        assert took_lock(run) and ran(run, "Go live | Switch to the new release unless Release did, reload gracefully"), \
            "%s: a changed host goes through the whole deploy" % change
        result = result_of(run)
        if change in ("variable", "config by hand"):
            assert result["changed"] and result["reloaded"] and live(app) == before_step, change
            assert "workers = 5" not in open(config).read() and "threads = 3" in open(config).read(), change
        elif change == "server stopped":
            assert result["started"] is True
        elif change == "venv link by hand":
            assert result["reloaded"] and result["method"] == "usr2", "a new interpreter for the virtualenv"
            assert not os.readlink(os.path.join(app.root, "venv")).endswith("-copy")
        else:
            assert live(app) == before_step, change
        assert get(app.port) == "hello v1", change
        again = app.run(check=True, **extra)
        assert not took_lock(again), "%s: the deploy that put things right recorded them" % change


def test_an_unchanged_app_that_no_longer_answers_fails_clearly_and_is_left_alone(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    before = releases(app)
    run = app.run(wsgi_deploy_healthcheck_text="text the app never says")
    assert run.returncode != 0
    failure = failure_of(run)
    assert "nothing changed since release %s went live, but the app does not answer its health check" % live(app) in failure
    assert 'no "text the app never says" in its answer' in failure and "Nothing was changed" in failure
    assert releases(app) == before and get(app.port) == "hello v1"


def test_a_deploy_cut_off_between_its_switch_and_its_reload_is_reloaded_by_the_next(deploy, tmp_path):
    app = deploy("gunicorn")
    app.run(check=True)
    master = int(open(app.pidfile).read())
    # The before-reload hook runs after the switch: kill the deploy there, as a lost controller would.
    hook = cut_off_hook(tmp_path, after="switch")
    set_version(app, "2")
    cut = app.run(wsgi_deploy_before_reload_tasks=hook)
    assert cut.returncode != 0
    assert 'VERSION = "2"' in open(os.path.join(app.root, "current", "main.py")).read() and get(app.port) == "hello v1", \
        "switched to v2, but the server still runs v1"

    run = app.run(check=True)

    result = result_of(run)
    assert result["reloaded"] is True, "what is live was never reloaded onto: the next deploy must reload"
    assert get(app.port) == "hello v2"
    assert not took_lock(app.run(check=True))
    assert int(open(app.pidfile).read()) != master or result["method"] == "ttin"


def test_a_server_set_up_by_hand_whose_deploy_was_cut_off_after_its_sync_is_reloaded_by_the_next(deploy, tmp_path):
    server = Server("gunicorn", tmp_path / "by-hand").start()
    try:
        app = deploy("gunicorn")
        by_hand = {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": server.app_dir,
                   "wsgi_deploy_pidfile": server.pidfile, "wsgi_deploy_log_file": server.log_file,
                   "wsgi_deploy_healthcheck_url": server.url + "/"}
        app.run(check=True, **by_hand)
        assert not took_lock(app.run(check=True, **by_hand)), "recorded beside the directory: nothing to do"
        hook = cut_off_hook(tmp_path, after="sync")
        set_version(app, "2")
        cut = app.run(wsgi_deploy_before_reload_tasks=hook, **by_hand)
        assert cut.returncode != 0
        assert 'VERSION = "2"' in open(os.path.join(server.app_dir, "main.py")).read()
        assert server.get("/") == (200, "hello v1"), "synced v2, but the server still runs v1"

        # The sync finds nothing left to copy; the record says these inputs never went live.
        result = result_of(app.run(check=True, **by_hand))

        assert result["reloaded"] is True and result["method"] == "hup"
        assert server.get("/") == (200, "hello v2")
        assert not took_lock(app.run(check=True, **by_hand))
    finally:
        server.stop()
