"""The role run on this machine (connection local, service manager none), as the demo runs it.

Shared by the role's tests and the deploy benchmark.
"""
import json
import os
import shutil
import subprocess
import sys

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLE = os.path.join(ROOT, "examples", "hello")
BIN = os.path.dirname(sys.executable)


class Deploy(object):
    """One app root on this machine and the role run against it."""

    def __init__(self, base, port, server):
        self.base = str(base)
        self.src = os.path.join(self.base, "src")
        self.root = os.path.join(self.base, "srv")
        self.port = port
        self.server = server
        shutil.copytree(EXAMPLE, self.src)
        # Called with (deploy, extra_vars) before each run, and (deploy, extra_vars, result) after.
        self.before_run = self.after_run = None
        self.variables = {}

    def run(self, *args, check=False, playbook="deploy.yml", **extra_vars):
        argv, env = self._command(args, playbook, extra_vars)
        if self.before_run:
            self.before_run(self, extra_vars)
        result = subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=600)
        if self.after_run:
            self.after_run(self, extra_vars, result)
        if check and result.returncode != 0:
            raise AssertionError("ansible-playbook failed:\n" + _failed_tasks(result.stdout)
                                 + result.stdout[-6000:] + result.stderr[-3000:])
        return result

    def start_run(self, *args, playbook="deploy.yml", **extra_vars):
        """A run in the background, in a process group of its own, for a test to cut off."""
        argv, env = self._command(args, playbook, extra_vars)
        if self.before_run:
            self.before_run(self, extra_vars)
        return subprocess.Popen(argv, cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)

    def _command(self, args, playbook, extra_vars):
        variables = {
            "wsgi_deploy_src": self.src, "wsgi_deploy_root": self.root,
            "wsgi_deploy_server": self.server, "wsgi_deploy_name": "hello",
            "wsgi_deploy_bind": "127.0.0.1:%d" % self.port,
            "wsgi_deploy_reload_timeout": 60,
        }
        variables.update(extra_vars)
        # The stop playbook takes the deploy's variables, as a user's would.
        self.variables = variables
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   ANSIBLE_NOCOLOR="1",
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        argv = [os.path.join(BIN, "ansible-playbook"), os.path.join(ROOT, "playbooks", playbook),
                "-e", json.dumps(variables)] + list(args)
        return argv, env

    @property
    def pidfile(self):
        return os.path.join(self.root, "run", "server.pid")

    def stop(self):
        if os.path.exists(self.pidfile):
            argv, env = self._command((), "stop.yml", self.variables)
            subprocess.run(argv, cwd=ROOT, capture_output=True, timeout=120, env=env)


def _failed_tasks(stdout):
    """Each failed task's name and message, first, from the json callback's output (if it is that)."""
    try:
        plays = json.loads(stdout)["plays"]
    except (ValueError, KeyError, TypeError):
        return ""
    said = ["%s [%s]: %s" % (task["task"]["name"], host, result.get("msg", ""))
            for play in plays for task in play["tasks"] for host, result in task["hosts"].items()
            if result.get("failed")]
    return "".join(line + "\n" for line in said)
