"""What Preflight refuses on a host, in process (host_view.look): files the app's user can put in
the deploy's way, each refused before anything changes, with what to do."""
import os
import subprocess

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import host_view, releases


def look(**given):
    params = {name: spec.get("default") for name, spec in host_view.ARGUMENT_SPEC.items()}
    params.update(given)
    return host_view.look(params, main_pid=lambda unit: 0)


def as_nobody(*argv, cwd=None):
    subprocess.run(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups"] + list(argv), check=True, cwd=cwd)


def test_a_drain_mark_is_trusted_only_if_a_deploy_made_it(tmp_path):
    # Beside a directory set up by hand, the parent is the app's user's (here nobody's).
    parent = tmp_path / "apps"
    parent.mkdir()
    os.chown(parent, 65534, 65534)
    mark = str(parent / ".app.drained")
    assert look(drain_mark=mark)["drain_left"] is False
    releases.take_lock(mark, {"controller": "ctl", "pid": 1})
    seen = look(drain_mark=mark)
    assert seen["drain_left"] is True and seen["problems"] == []
    releases.drop_lock(mark)
    # The app's user makes one, to have its host put back into the balancer by the next deploy.
    as_nobody("mkdir", ".app.drained", cwd=str(parent))
    seen = look(drain_mark=mark)
    assert "drain_left" not in seen
    assert any("is not a mark the deploying user made" in problem and "remove it" in problem
               for problem in seen["problems"]), seen["problems"]
    # Or a link to a directory of root's.
    os.rmdir(mark)
    as_nobody("ln", "-s", str(tmp_path), ".app.drained", cwd=str(parent))
    assert any("is not a mark the deploying user made" in problem for problem in look(drain_mark=mark)["problems"])


def test_a_touch_file_swapped_for_a_link_is_refused_before_anything_changes(tmp_path):
    touch = tmp_path / "reload.touch"
    touch.symlink_to("/etc/hostname")
    seen = look(root=str(tmp_path / "srv"), server="uwsgi", reload_file=str(touch))
    assert any("The reload's touch file %s is a symlink, which is never followed" % touch in problem
               for problem in seen["problems"]), seen["problems"]
    touch.unlink()
    touch.write_text("")
    seen = look(root=str(tmp_path / "srv"), server="uwsgi", reload_file=str(touch))
    assert not any("touch file" in problem for problem in seen["problems"]), seen["problems"]


def test_a_root_that_holds_what_the_role_did_not_make_is_refused(tmp_path):
    home = tmp_path / "alice"
    home.mkdir(mode=0o700)
    (home / ".bashrc").write_text("")
    (home / "notes.txt").write_text("")
    seen = look(root=str(home))
    assert any("wsgi_deploy_root %s already holds what the role did not make (.bashrc, notes.txt)" % home in problem
               and "Choose a new or empty directory" in problem for problem in seen["problems"]), seen["problems"]
    # An empty directory, and one the role prepared for a deploy that failed before its record, are taken.
    empty = tmp_path / "new"
    empty.mkdir()
    assert not any("already holds" in problem for problem in look(root=str(empty))["problems"])
    for name in ("releases", "venvs", "etc", "log", "run", "shared"):
        (empty / name).mkdir()
    (empty / "current").symlink_to("releases/x")
    assert not any("already holds" in problem for problem in look(root=str(empty))["problems"])


def test_a_service_account_of_the_system_is_refused_as_the_apps_user(tmp_path):
    # Debian's www-data: no login, its own group, but its home and its processes are other services'.
    seen = look(root=str(tmp_path / "srv"), app_user="www-data")
    assert any("wsgi_deploy_user www-data is an existing account whose home is /var/www, not the app's root"
               in problem for problem in seen["problems"]), seen["problems"]


def test_the_live_releases_settings_are_masked_in_the_log_a_module_returns(tmp_path, capsys):
    import json

    import pytest
    from ansible.module_utils.testing import patch_module_args

    from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_env
    from ansible_collections.graceful.wsgi_deploy.plugins.modules import wsgi_release_info

    root = tmp_path / "srv"
    (root / "releases" / "r1").mkdir(parents=True)
    (root / "releases" / "r1" / app_env.FILE_NAME).write_text(app_env.render({"TOKEN": "tok-4f9a1c7e2b"}))
    (root / "current").symlink_to("releases/r1")
    log = tmp_path / "server.log"
    log.write_text("worker 7 started\nauth failed with tok-4f9a1c7e2b\n")
    with patch_module_args({"root": str(root), "log_file": str(log)}), pytest.raises(SystemExit):
        wsgi_release_info.main()
    printed = capsys.readouterr().out
    assert json.loads(printed)["log_tail"] == ["worker 7 started", "auth failed with ********"]
    assert "tok-4f9a1c7e2b" not in printed
