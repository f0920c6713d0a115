"""A module run by Ansible itself on this machine, as a task would run it: for the tests whose
proof is what Ansible makes of the module's result (its check mode, its printed failure)."""
import json
import os
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BIN = os.path.dirname(sys.executable)


def run_module(name, args):
    return subprocess.run(
        [os.path.join(BIN, "ansible"), "localhost", "-m", "graceful.wsgi_deploy." + name, "-a", json.dumps(args)],
        cwd=ROOT, capture_output=True, text=True, timeout=120,
        env=dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"), ANSIBLE_NOCOLOR="1"))
