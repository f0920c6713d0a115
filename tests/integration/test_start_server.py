"""Starting a server that no service manager runs (state=started): as the given user, without
sudo; a running one is left alone, and a start that fails says why."""
import os
import pwd
import shutil
import tempfile

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import ReloadError, start_server

ROOT_USER = pwd.getpwuid(0)


def test_a_running_server_is_left_alone(gunicorn):
    master = gunicorn.proc.pid
    facts = start_server(dict(gunicorn.params(), command=["/bin/false"]), ROOT_USER)
    assert facts["started"] is False and facts["changed"] is False and facts["master_pid"] == master


def test_a_start_command_that_fails_is_reported_with_its_output(tmp_path):
    params = {"server": "gunicorn", "pidfile": str(tmp_path / "server.pid"), "timeout": 10,
              "command": ["sh", "-c", "echo no such config >&2; exit 3"]}
    with pytest.raises(ReloadError) as failed:
        start_server(params, ROOT_USER)
    assert "the gunicorn did not start" in failed.value.msg and "exited 3" in failed.value.msg
    assert failed.value.facts["log_lines"] == ["no such config"]


def test_the_command_runs_as_the_given_user_and_a_master_that_never_comes_fails_in_time(tmp_path):
    nobody = pwd.getpwnam("nobody")
    # A directory nobody can write: the test's own tmp_path, under a 0700 directory, is not one.
    shared = tempfile.mkdtemp(dir="/tmp")
    os.chmod(shared, 0o777)
    try:
        params = {"server": "gunicorn", "pidfile": str(tmp_path / "server.pid"), "timeout": 2,
                  "command": ["sh", "-c", "id -u > %s/uid" % shared]}
        with pytest.raises(ReloadError) as failed:
            start_server(params, nobody)
        assert "the gunicorn was started as nobody but no master runs within 2s" in failed.value.msg
        with open(os.path.join(shared, "uid")) as handle:
            assert int(handle.read()) == nobody.pw_uid
    finally:
        shutil.rmtree(shared)
