"""Hooks run at fixed points whatever the deploy does next: before the switch, before the new code
goes live (a start on the first deploy, a reload later), and after the deploy; a failing one
stops the deploy with its own output, the live release serving."""
import json
import os

import pytest

from helpers import APP_USER, failure_of, get, live, releases, set_version

# Notes the phase, the action, the new release and what `current` points at as the hook runs.
NOTE = """
- name: Hook | Note where the deploy is
  ansible.builtin.command:
    argv:
      - sh
      - -c
      - 'printf "%s current=%s\\n" "$1" "$(basename "$(readlink "$2")")" >> "$3"'
      - hook
      - >-
        {{{{ wsgi_deploy_hook.phase }}}}{{{{ (' failed=' ~ wsgi_deploy_hook.failed) if wsgi_deploy_hook.failed is defined else '' }}}}
        {{{{ wsgi_deploy_hook.action | default('-') }}}} {{{{ wsgi_deploy_hook.release | basename }}}}
      - "{{{{ wsgi_deploy_hook.app_dir }}}}"
      - {log}
  changed_when: true
"""
FAILING = """
- name: Hook | Warm the cache
  ansible.builtin.command:
    argv: [sh, -c, 'echo "warming /products" >&2; echo "cache backend refused: ECONNREFUSED" >&2; exit 3']
  changed_when: true
"""
# A task whose become cannot run (a host without sudo): the module never starts, and only the
# shell's stderr says why.
BECOME_FAILS = """
- name: Hook | Purge the CDN as its own user
  ansible.builtin.command: "true"
  become: true
  become_user: nobody
  become_exe: /nonexistent/sudo
  changed_when: true
"""
# The app's own command, run as release commands run; its output noted with what the hook knew.
APP_COMMAND = """
- name: Hook | Run the app's own command in the new release
  graceful.wsgi_deploy.wsgi_app_command:
    root: "{{{{ wsgi_deploy_root }}}}"
    release: "{{{{ wsgi_deploy_hook.release | basename }}}}"
    venv_key: "{{{{ wsgi_deploy_hook.venv | basename }}}}"
    app_user: "{{{{ wsgi_deploy_hook.user }}}}"
    commands:
      - [sh, -c, 'test "$GREETING" = bonjour && echo "greeted in $(basename "$PWD") with $(command -v python)"; echo "token=$API_TOKEN"']
  register: _hook_ran

- name: Hook | Note its output
  ansible.builtin.copy:
    content: "{{{{ {{'output': _hook_ran.output, 'release': wsgi_deploy_hook.release, 'venv': wsgi_deploy_hook.venv}} | to_json }}}}"
    dest: {log}
    mode: "0600"
"""


def hooks(tmp_path):
    log = tmp_path / "hooks.log"
    note = tmp_path / "note.yml"
    note.write_text(NOTE.format(log=log))
    return log, {"wsgi_deploy_before_switch_tasks": str(note), "wsgi_deploy_before_live_tasks": str(note),
                 "wsgi_deploy_after_live_tasks": str(note), "wsgi_deploy_after_deploy_tasks": str(note)}


def notes(log):
    lines = log.read_text().splitlines()
    log.write_text("")
    return lines


def test_each_hook_runs_where_it_says_on_a_start_a_reload_and_a_deploy_with_nothing_to_do(deploy, tmp_path):
    app = deploy("gunicorn")
    log, setup = hooks(tmp_path)

    app.run(check=True, **setup)
    first = live(app)
    assert notes(log) == ["before_switch - %s current=" % first,
                          "before_live start %s current=%s" % (first, first),
                          "after_live failed=False - %s current=%s" % (first, first),
                          "after_deploy - %s current=%s" % (first, first)]

    set_version(app, "2")
    app.run(check=True, **setup)
    second = live(app)
    assert notes(log) == ["before_switch - %s current=%s" % (second, first),
                          "before_live reload %s current=%s" % (second, second),
                          "after_live failed=False - %s current=%s" % (second, second),
                          "after_deploy - %s current=%s" % (second, second)]
    assert get(app.port) == "hello v2"

    app.run(check=True, **setup)
    assert notes(log) == ["after_live failed=False -  current=%s" % second, "after_deploy -  current=%s" % second]


def deploy_v2_with_failing_hook(app, tmp_path, hook, tasks=FAILING):
    """v1 live, then v2 with a hook that fails where `hook` (its variable) runs."""
    app.run(check=True)
    failing = tmp_path / "warm.yml"
    failing.write_text(tasks)
    set_version(app, "2")
    return app.run(**{hook: str(failing)})


def test_a_failing_before_switch_hook_removes_the_release_and_quotes_its_output(deploy, tmp_path):
    app = deploy("gunicorn")

    run = deploy_v2_with_failing_hook(app, tmp_path, "wsgi_deploy_before_switch_tasks")

    message = failure_of(run)
    assert run.returncode != 0 and "stopped before the new release went live" in message
    assert "cache backend refused: ECONNREFUSED" in message
    # Its output in lines of their own, not joined by a backslash and an n.
    assert "\\n" not in message and "warming /products" not in message.splitlines()[0]
    assert get(app.port) == "hello v1" and len(releases(app)) == 1


def test_a_failing_before_live_hook_rolls_back_quoting_its_output_not_the_servers_log(deploy, tmp_path):
    app = deploy("gunicorn")
    # The after-live hook runs after the rollback, told that the deploy failed, as a balancer's
    # hook that takes the host back must be.
    log, setup = hooks(tmp_path)
    app.run(check=True)
    failing = tmp_path / "warm.yml"
    failing.write_text(FAILING)
    set_version(app, "2")
    run = app.run(wsgi_deploy_before_live_tasks=str(failing), wsgi_deploy_after_live_tasks=setup["wsgi_deploy_after_live_tasks"])

    message = failure_of(run)
    assert run.returncode != 0 and "cache backend refused: ECONNREFUSED" in message
    assert "Log (" not in message and "Booting worker" not in message
    assert get(app.port) == "hello v1" and len(releases(app)) == 1
    assert os.path.isfile(os.path.join(app.root, "releases", live(app), ".wsgi-deploy-went-live"))
    assert [line.split(" current=")[0].split(" ")[:2] + [line.split(" current=")[1]] for line in notes(log)] == [
        ["after_live", "failed=True", live(app)]]


@pytest.mark.parametrize("hook", ["wsgi_deploy_before_switch_tasks", "wsgi_deploy_before_live_tasks"])
def test_a_hook_whose_become_fails_is_quoted_with_what_the_shell_said(deploy, tmp_path, hook):
    app = deploy("gunicorn")

    run = deploy_v2_with_failing_hook(app, tmp_path, hook, BECOME_FAILS)

    message = failure_of(run)
    assert run.returncode != 0 and "Purge the CDN" in message
    assert "/nonexistent/sudo: not found" in message, message
    assert get(app.port) == "hello v1" and len(releases(app)) == 1


def test_a_hook_runs_the_apps_command_in_the_new_release_with_its_environment_masked(app_user_deploy, tmp_path):
    app = app_user_deploy("gunicorn")
    log = tmp_path / "ran.json"
    hook = tmp_path / "ran.yml"
    hook.write_text(APP_COMMAND.format(log=log))
    setup = {"wsgi_deploy_user": APP_USER, "wsgi_deploy_python": "/usr/bin/python3",
             "wsgi_deploy_env": {"GREETING": "bonjour", "API_TOKEN": "s3cr3t-t0ken-value"}}
    app.run(check=True, **setup)
    set_version(app, "2")

    run = app.run(check=True, wsgi_deploy_before_switch_tasks=str(hook), **setup)

    noted = json.loads(log.read_text())
    release, venv = os.path.basename(noted["release"]), noted["venv"]
    assert release == live(app) and release != releases(app)[0]
    assert noted["output"] == [["greeted in %s with %s/bin/python" % (release, venv), "token=********"]]
    assert "s3cr3t-t0ken-value" not in run.stdout + run.stderr

