"""What a user reads at default verbosity: a short run, the one-line summary last, a failure said once."""
import os

import pytest

from helpers import set_version
from testservers import Server


def shown(run):
    """All lines, and the deploy's last task with what it printed. A single host is a fleet of one
    whose fleet plays (playbooks/deploy.yml's first and last) show nothing, not even a banner."""
    lines = run.stdout.rstrip("\n").splitlines()
    assert not [line for line in lines if line.startswith("PLAY [Fleet")], run.stdout
    end = min(index for index, line in enumerate(lines) if line.startswith("PLAY RECAP"))
    before = [line for line in lines[:end] if line.strip()]
    last_task = max(index for index, line in enumerate(before) if line.startswith("TASK ["))
    return lines, before[last_task], "\n".join(before[last_task + 1:])


@pytest.mark.parametrize("result_format", ["yaml", "json"])
def test_a_deploy_prints_at_most_40_lines_unchanged_and_80_with_a_change(deploy, monkeypatch, result_format):
    # The stdout callback users have by default, in both of its result formats.
    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK")
    monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", result_format)
    app = deploy("gunicorn")
    app.run(check=True)

    unchanged = app.run(check=True)
    lines, task, summary = shown(unchanged)
    assert len(lines) <= 40, unchanged.stdout
    assert "Report | Summarise the deploy" in task and "no change" in summary

    set_version(app, "2")
    changed = app.run(check=True)
    lines, task, summary = shown(changed)
    assert len(lines) <= 80, changed.stdout
    assert "Report | Summarise the deploy" in task and "new code live, gunicorn reloaded by ttin" in summary


def test_a_server_set_up_by_hand_with_nothing_to_do_prints_at_most_40_lines(deploy, tmp_path, monkeypatch):
    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK")
    # Its pidfile and log beside its app directory, as the README asks for a fast deploy with nothing to do.
    server = Server("gunicorn", tmp_path / "by-hand").start()
    try:
        app = deploy("gunicorn")
        set_version(app, "2")
        by_hand = {"wsgi_deploy_manage_server": False, "wsgi_deploy_dest": server.app_dir,
                   "wsgi_deploy_pidfile": server.pidfile, "wsgi_deploy_log_file": server.log_file,
                   "wsgi_deploy_healthcheck_url": server.url + "/"}
        first = app.run(check=True, **by_hand)
        assert "new code live, gunicorn reloaded by hup" in " ".join(shown(first)[2].split())
        assert server.get("/") == (200, "hello v2")

        unchanged = app.run(check=True, **by_hand)
        lines, task, summary = shown(unchanged)
        assert len(lines) <= 40, unchanged.stdout
        assert "Report | Summarise the deploy" in task
        assert ("no change in %s since its last deploy, nothing synced or reloaded" % server.app_dir
                in " ".join(summary.split()))
    finally:
        server.stop()


def test_a_failed_go_live_says_its_cause_once_with_what_the_app_logged(deploy, monkeypatch):
    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK")
    app = deploy("gunicorn")
    app.run(check=True)
    set_version(app, "2")
    # The new release's health check raises: the app logs a traceback as it answers 500.
    path = os.path.join(app.src, "main.py")
    with open(path) as handle:
        code = handle.read()
    with open(path, "w") as handle:
        handle.write(code.replace('return "ok\\n"', 'raise RuntimeError("the database is unreachable at " + os.environ["DB_URL"])'))

    run = app.run(wsgi_deploy_healthcheck_path="/healthz", wsgi_deploy_env={"DB_URL": "postgres://app:s3cr3t-pw@db/app"})

    assert run.returncode != 0
    assert run.stdout.count("status 500 where 200 was expected") == 1, run.stdout
    # The traceback the app logged, its setting's value masked as every env value is in what is printed.
    assert "RuntimeError: the database is unreachable at ********" in run.stdout, run.stdout
    assert "s3cr3t-pw" not in run.stdout + run.stderr
    assert "Rolled back to release" in run.stdout
