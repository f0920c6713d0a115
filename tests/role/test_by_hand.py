"""A server set up by hand, whose directory the role syncs in place: what the sync must never do
to it, and what must be refused before its code changes."""
import os

from helpers import failure_of, result_of, set_version
from testservers import Server
from test_unchanged import took_lock


def by_hand(server):
    return {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": server.app_dir,
            "wsgi_deploy_pidfile": server.pidfile, "wsgi_deploy_log_file": server.log_file,
            "wsgi_deploy_healthcheck_url": server.url + "/"}


def test_a_server_its_method_cannot_reload_is_refused_before_its_code_changes(deploy, tmp_path):
    # With preload_app, a HUP forks new workers from the master's copy of the old app.
    server = Server("gunicorn", tmp_path / "by-hand", extra={"preload_app": True}).start()
    try:
        app = deploy("gunicorn")
        code = open(os.path.join(server.app_dir, "main.py")).read()
        set_version(app, "2")

        run = app.run(wsgi_deploy_reload_method="hup", **by_hand(server))

        assert run.returncode != 0
        assert "cannot be reloaded by hup" in run.stdout and "preload_app" in run.stdout, run.stdout[-3000:]
        assert "Nothing was changed" in run.stdout
        assert open(os.path.join(server.app_dir, "main.py")).read() == code, "the code was synced anyway"
        assert server.get("/") == (200, "hello v1")
    finally:
        server.stop()


def test_the_servers_own_files_in_its_directory_survive_a_sync_that_deletes(deploy, tmp_path):
    server = Server("gunicorn", tmp_path / "by-hand")
    # The pidfile and the log inside the directory the app is synced into, as many setups have them.
    os.makedirs(os.path.join(server.app_dir, "run"))
    server.pidfile = os.path.join(server.app_dir, "run", "server.pid")
    server.log_file = os.path.join(server.app_dir, "server.log")
    server.start()
    try:
        app = deploy("gunicorn")
        set_version(app, "2")

        run = app.run(check=True, wsgi_deploy_delete="always", **by_hand(server))

        assert os.path.isfile(server.pidfile) and os.path.isfile(server.log_file)
        assert result_of(run)["reloaded"] is True and server.get("/") == (200, "hello v2")
        # They are no part of what the record vouches for: a log that grows leaves nothing to do.
        with open(server.log_file, "a") as log:
            log.write("a request\n")
        assert not took_lock(app.run(check=True, wsgi_deploy_delete="always", **by_hand(server)))
    finally:
        server.stop()


def test_a_granian_set_up_by_hand_is_synced_in_place_and_reloaded_one_worker_at_a_time(deploy, tmp_path):
    server = Server("granian", tmp_path / "by-hand", extra={"respawn-interval": 1}).start()
    try:
        app = deploy("granian")
        old = server.worker_pids()
        set_version(app, "2")
        result = result_of(app.run(check=True, **by_hand(server)))
        assert result["method"] == "hup" and result["reloaded"] is True and result["master_pid"] == server.proc.pid
        assert result["old_pids"] == old and not set(result["new_pids"]) & set(old)
        assert server.get("/") == (200, "hello v2")
    finally:
        server.stop()


def test_a_pidfile_naming_another_apps_master_is_refused_and_that_master_not_signalled(deploy, tmp_path):
    ours = Server("gunicorn", tmp_path / "ours").start()
    other = Server("gunicorn", tmp_path / "other").start()
    try:
        app = deploy("gunicorn")
        # The app's user writes the other app's master PID into the pidfile it owns.
        with open(ours.pidfile, "w") as pidfile:
            pidfile.write(open(other.pidfile).read())
        workers = other.worker_pids()
        set_version(app, "2")

        run = app.run(**by_hand(ours))

        assert run.returncode != 0
        assert "it runs another app, and was not signalled" in run.stdout and "Nothing was changed" in run.stdout
        assert other.worker_pids() == workers and other.get("/") == (200, "hello v1")
        assert 'VERSION = "2"' not in open(os.path.join(ours.app_dir, "main.py")).read()
    finally:
        ours.stop()
        other.stop()


def test_a_first_sync_that_would_delete_what_its_directory_holds_is_refused(deploy, tmp_path):
    server = Server("gunicorn", tmp_path / "by-hand").start()
    # wsgi_deploy_dest one level too high: the server's own directory, its pidfile and log, and
    # another app's data, none of them in the source.
    top = os.path.dirname(server.app_dir)
    os.makedirs(os.path.join(top, "other-app"))
    with open(os.path.join(top, "other-app", "data.db"), "w") as handle:
        handle.write("another app's data\n")

    def held():
        return sorted((os.path.relpath(os.path.join(folder, name), top), os.path.getsize(os.path.join(folder, name)))
                      for folder, dummy, names in os.walk(top) for name in names if name != "server.log")
    try:
        before = held()
        app = deploy("gunicorn")
        set_version(app, "2")

        run = app.run(**dict(by_hand(server), wsgi_deploy_dest=top, wsgi_deploy_delete="always"))

        assert run.returncode != 0
        says = failure_of(run)
        assert "No deploy went live in wsgi_deploy_dest %s yet" % top in says, says
        assert "app/" in says and "other-app/data.db" in says and "Nothing was changed" in says
        assert held() == before and server.get("/") == (200, "hello v1")
    finally:
        server.stop()
