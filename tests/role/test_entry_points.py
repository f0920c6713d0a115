"""stop.yml, restart.yml and rollback.yml take the deploy's own variables, wherever they live: a
vars file given with -e @file, or the play of the user's own playbook (the role's entry points)."""
import json
import os
import subprocess
import threading
import time

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes
from helpers import get, live, set_version
from roledeploy import BIN, ROOT


def playbook(*argv, cwd=ROOT):
    env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1",
               PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
    return subprocess.run([os.path.join(BIN, "ansible-playbook")] + list(argv), cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def master_pid(app):
    with open(app.pidfile) as handle:
        return int(handle.read())


def test_restart_and_stop_take_the_deploys_variables_from_a_vars_file(deploy, tmp_path):
    app = deploy("uwsgi")
    app.run(check=True)
    vars_file = tmp_path / "shop.yml"
    vars_file.write_text(json.dumps(app.variables))
    before = master_pid(app)

    restarted = playbook(os.path.join(ROOT, "playbooks", "restart.yml"), "-e", "@%s" % vars_file)

    assert restarted.returncode == 0, restarted.stdout[-3000:]
    master_pid_after_restart = master_pid(app)
    assert master_pid_after_restart != before and get(app.port) == "hello v1"

    # A stop lets a request in flight finish (uWSGI's own SIGQUIT and SIGINT would cut it off).
    in_flight = {}
    slow = threading.Thread(target=lambda: in_flight.update(answer=get(app.port, "/slow?s=4")))
    slow.start()
    time.sleep(1)
    stopped = playbook(os.path.join(ROOT, "playbooks", "stop.yml"), "-e", "@%s" % vars_file)
    slow.join(30)

    assert stopped.returncode == 0, stopped.stdout[-3000:]
    assert in_flight.get("answer") == "slow done v1"
    assert not processes.running(master_pid_after_restart) and not os.path.exists(app.pidfile)


USERS_PLAYBOOK = """
- name: Roll the shop back, its variables in the play as in the deploy's
  hosts: localhost
  gather_facts: false
  vars: {variables}
  tasks:
    - name: Rollback | Run the role's rollback
      ansible.builtin.include_role:
        name: graceful.wsgi_deploy.wsgi_deploy
        tasks_from: rollback
"""


def test_rollback_takes_the_deploys_variables_from_the_users_own_play(deploy, tmp_path):
    app = deploy("gunicorn")
    app.run(check=True)
    first = live(app)
    set_version(app, "2")
    app.run(check=True)
    own = tmp_path / "rollback.yml"
    own.write_text(USERS_PLAYBOOK.format(variables=json.dumps(app.variables)))

    run = playbook(str(own), cwd=str(tmp_path))

    assert run.returncode == 0, run.stdout[-3000:]
    assert live(app) == first and get(app.port) == "hello v1"
