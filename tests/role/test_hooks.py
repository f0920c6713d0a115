"""Hooks run at fixed points whatever the deploy does next: before the switch, before the new code
goes live (a start on the first deploy, a reload later), and after the deploy; a failing one
stops the deploy with its own output, the live release serving."""
import os

from helpers import failure_of, get, live, releases, set_version

# Notes the phase, the action, the new release and what `current` points at as the hook runs.
NOTE = """
- name: Hook | Note where the deploy is
  ansible.builtin.command:
    argv:
      - sh
      - -c
      - 'printf "%s current=%s\\n" "$1" "$(basename "$(readlink "$2")")" >> "$3"'
      - hook
      - "{{{{ wsgi_deploy_hook.phase }}}} {{{{ wsgi_deploy_hook.action | default('-') }}}} {{{{ wsgi_deploy_hook.release | basename }}}}"
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


def hooks(tmp_path):
    log = tmp_path / "hooks.log"
    note = tmp_path / "note.yml"
    note.write_text(NOTE.format(log=log))
    return log, {"wsgi_deploy_before_switch_tasks": str(note), "wsgi_deploy_before_live_tasks": str(note),
                 "wsgi_deploy_after_deploy_tasks": str(note)}


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
                          "after_deploy - %s current=%s" % (first, first)]

    set_version(app, "2")
    app.run(check=True, **setup)
    second = live(app)
    assert notes(log) == ["before_switch - %s current=%s" % (second, first),
                          "before_live reload %s current=%s" % (second, second),
                          "after_deploy - %s current=%s" % (second, second)]
    assert get(app.port) == "hello v2"

    app.run(check=True, **setup)
    assert notes(log) == ["after_deploy -  current=%s" % second]


def deploy_v2_with_failing_hook(app, tmp_path, hook):
    """v1 live, then v2 with a hook that fails where `hook` (its variable) runs."""
    app.run(check=True)
    failing = tmp_path / "warm.yml"
    failing.write_text(FAILING)
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

    run = deploy_v2_with_failing_hook(app, tmp_path, "wsgi_deploy_before_live_tasks")

    message = failure_of(run)
    assert run.returncode != 0 and "cache backend refused: ECONNREFUSED" in message
    assert "Log (" not in message and "Booting worker" not in message
    assert get(app.port) == "hello v1" and len(releases(app)) == 1
    assert os.path.isfile(os.path.join(app.root, "releases", live(app), ".wsgi-deploy-went-live"))
