"""What a user reads at default verbosity: a short run, the one-line summary last."""
import pytest

from helpers import set_version
from testservers import Server


# What playbooks/deploy.yml's fleet plays (its first and last) and the deploy's block around the
# role add for a single host, which skips them.
FLEET_LINES = 14


def shown(run):
    """All lines, and the deploy's last task with what it printed (the fleet's last play follows)."""
    lines = run.stdout.rstrip("\n").splitlines()
    end = min(index for index, line in enumerate(lines) if line.startswith(("PLAY RECAP", "PLAY [Fleet | Roll back")))
    before = [line for line in lines[:end] if line.strip()]
    last_task = max(index for index, line in enumerate(before) if line.startswith("TASK ["))
    return lines, before[last_task], "\n".join(before[last_task + 1:])


@pytest.mark.parametrize("result_format", ["yaml", "json"])
def test_a_deploy_prints_at_most_40_lines_unchanged_and_80_with_a_change_besides_the_fleet_plays(deploy, monkeypatch, result_format):
    # The stdout callback users have by default, in both of its result formats.
    monkeypatch.delenv("ANSIBLE_STDOUT_CALLBACK")
    monkeypatch.setenv("ANSIBLE_CALLBACK_RESULT_FORMAT", result_format)
    app = deploy("gunicorn")
    app.run(check=True)

    unchanged = app.run(check=True)
    lines, task, summary = shown(unchanged)
    assert len(lines) <= 40 + FLEET_LINES, unchanged.stdout
    assert "Report | Summarise the deploy" in task and "no change" in summary

    set_version(app, "2")
    changed = app.run(check=True)
    lines, task, summary = shown(changed)
    assert len(lines) <= 80 + FLEET_LINES, changed.stdout
    assert "Report | Summarise the deploy" in task and "new code live, gunicorn reloaded by hup" in summary


def test_a_server_set_up_by_hand_with_nothing_to_do_prints_at_most_40_lines_besides_the_fleet_plays(deploy, tmp_path, monkeypatch):
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
        assert len(lines) <= 40 + FLEET_LINES, unchanged.stdout
        assert "Report | Summarise the deploy" in task
        assert ("no change in %s since its last deploy, nothing synced or reloaded" % server.app_dir
                in " ".join(summary.split()))
    finally:
        server.stop()
