"""The code's sync over SSH checks the host's key as the play's own connection does: with the
inventory's known_hosts, a host that answers with another key gets no code. (A second sshd of this
machine's, tools/sshd.py; the rest of the role's tests run over the local connection.)"""
import json
import os
import shutil
import sys
import tempfile

import pytest
import yaml

from helpers import get, live
from roledeploy import ROOT
from sshd import Sshd

# The play meets the host, then the host's key changes, as a man in the middle's would: the play's
# own connection goes on (its ssh master was opened before), every new connection meets the new key.
MITM_PLAYBOOK = """
- name: Test | Connect, then let another key answer, then deploy
  hosts: all
  gather_facts: false
  tasks:
    - name: Test | Open the play's connection
      ansible.builtin.ping:
    - name: Test | Give the host another key
      ansible.builtin.shell: {rekey}
      delegate_to: localhost
      changed_when: true
    - name: Test | Deploy
      ansible.builtin.include_role:
        name: graceful.wsgi_deploy.wsgi_deploy
"""


@pytest.fixture
def over_ssh(tmp_path):
    # A short path: ssh's control sockets live in it, and a socket's path is short.
    base = tempfile.mkdtemp(prefix="wsgi-sshd-")
    sshd = Sshd(os.path.join(base, "s"))
    os.makedirs(sshd.base)
    sshd.start()
    known_hosts = sshd.known_hosts(str(tmp_path / "known_hosts"))
    # The repo's own host (inventory/localhost.yml, as the other tests run it), reached over SSH.
    with open(os.path.join(ROOT, "inventory", "localhost.yml")) as handle:
        host = dict(yaml.safe_load(handle)["all"]["hosts"]["localhost"])
    host.update(sshd.host_vars(), ansible_python_interpreter=sys.executable, ansible_ssh_common_args=(
        "-o UserKnownHostsFile=%s -o StrictHostKeyChecking=yes -o LogLevel=ERROR -o BatchMode=yes" % known_hosts))
    inventory = tmp_path / "inventory.yml"
    inventory.write_text(yaml.safe_dump({"all": {"hosts": {"shop": host}}}))
    yield sshd, str(inventory)
    sshd.stop()
    shutil.rmtree(base, ignore_errors=True)


def sync_commands(run):
    """The rsync command line of each sync that ran, from the json callback's output."""
    return [result.get("cmd", "") for play in json.loads(run.stdout)["plays"] for task in play["tasks"]
            for result in task["hosts"].values() if task["task"]["name"].endswith("Release | Copy the source into a new release")]


def test_the_sync_checks_the_host_key_with_the_connections_known_hosts(deploy, over_ssh, tmp_path):
    sshd, inventory = over_ssh
    app = deploy("gunicorn")
    first = app.run("-i", inventory, check=True)
    assert get(app.port) == "hello v1"
    [command] = [cmd for cmd in sync_commands(first) if cmd]
    assert "StrictHostKeyChecking=yes" in command and "StrictHostKeyChecking=no" not in command

    # Another key answers once the play is connected: the sync refuses it, nothing goes live.
    went_live = live(app)
    with open(os.path.join(app.src, "main.py"), "a") as handle:
        handle.write("\n# a change\n")
    playbook = tmp_path / "mitm.yml"
    playbook.write_text(MITM_PLAYBOOK.format(rekey=json.dumps(sshd.rekey_command())))
    run = app.run("-i", inventory, playbook=str(playbook))
    assert run.returncode != 0
    assert "Host key verification failed" in run.stdout
    assert live(app) == went_live and get(app.port) == "hello v1"
