"""A fleet of app hosts on this machine (connection local, each host its own root and port),
deployed by playbooks/deploy.yml, optionally behind a haproxy of its own.

Shared by the role's fleet tests and the fleet benchmark."""
import json
import os
import shutil
import subprocess
import time
import urllib.request

import haproxy_stat
from roledeploy import BIN, EXAMPLE, ROOT
from testservers import free_port

HOSTS = ("web1", "web2", "web3")

# A haproxy of the fleet's own, started from Debian's package as its own daemon: its own config,
# socket and port. No retries or redispatch: what reaches a host that refuses it fails.
HAPROXY_CFG = """global
    stats socket {dir}/admin.sock mode 600 level admin
    pidfile {dir}/haproxy.pid
defaults
    mode http
    retries 0
    timeout connect 2s
    timeout client 60s
    timeout server 60s
frontend site
    bind 127.0.0.1:{port}
    default_backend app
backend app
    option httpchk GET /healthz
    default-server check inter 300ms fall 2 rise 2
{servers}
"""


class Haproxy(object):
    def __init__(self, base, hosts):
        self.dir = os.path.join(base, "haproxy")
        os.makedirs(self.dir)
        self.port = free_port()
        self.socket = os.path.join(self.dir, "admin.sock")
        self.config = os.path.join(self.dir, "haproxy.cfg")
        servers = "\n".join("    server %s 127.0.0.1:%d" % (name, host["port"]) for name, host in sorted(hosts.items()))
        with open(self.config, "w") as handle:
            handle.write(HAPROXY_CFG.format(dir=self.dir, port=self.port, servers=servers))
        self.url = "http://127.0.0.1:%d/" % self.port

    def start(self):
        subprocess.run(["haproxy", "-c", "-q", "-f", self.config], check=True)
        subprocess.run(["haproxy", "-D", "-f", self.config], check=True)
        deadline = time.monotonic() + 10
        while not os.path.exists(self.socket) and time.monotonic() < deadline:
            time.sleep(0.1)
        return self

    def states(self):
        return haproxy_stat.states(self.socket, "app")

    def wait_all_up(self, seconds=20):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if set(self.states().values()) == {"UP"}:
                return True
            time.sleep(0.2)
        return False

    def stop(self):
        pidfile = os.path.join(self.dir, "haproxy.pid")
        if os.path.exists(pidfile):
            with open(pidfile) as handle:
                subprocess.run(["kill", handle.read().split()[0]], check=False)


class Fleet(object):
    """Three hosts in an inventory of their own (group app), one source, a database path they share."""

    def __init__(self, base, balanced=False):
        self.base = str(base)
        self.src = os.path.join(self.base, "src")
        shutil.copytree(EXAMPLE, self.src)
        self.migrations = os.path.join(self.base, "shared-db", "migrations.log")
        os.makedirs(os.path.dirname(self.migrations))
        self.each_host = os.path.join(self.base, "each-host.log")
        self.hosts = {name: {"root": os.path.join(self.base, name, "srv", "hello"), "port": free_port()}
                      for name in HOSTS}
        for host in self.hosts.values():
            os.makedirs(os.path.dirname(host["root"]))
        inventory = {"all": {
            "vars": {
                "ansible_connection": "local",
                "ansible_python_interpreter": "{{ ansible_playbook_python }}",
                "wsgi_deploy_src": self.src, "wsgi_deploy_name": "hello",
                "wsgi_deploy_user": "{{ lookup('ansible.builtin.pipe', 'id -un') }}",
                "wsgi_deploy_service_manager": "none", "wsgi_deploy_install_packages": False,
                "wsgi_deploy_python": "{{ ansible_playbook_python }}",
                "wsgi_deploy_requirements": "requirements.txt",
                "wsgi_deploy_healthcheck_path": "/healthz",
                "wsgi_deploy_env": {"FLEET_HOST": "{{ inventory_hostname }}"},
                # The database the fleet shares: migrated once per run. Static files: on every host.
                "wsgi_deploy_release_commands_once": [["sh", "-c", 'echo "$FLEET_HOST" >> ' + self.migrations]],
                "wsgi_deploy_release_commands": [["sh", "-c", 'echo "$FLEET_HOST" >> ' + self.each_host]],
            },
            "hosts": {name: {"wsgi_deploy_root": host["root"], "wsgi_deploy_bind": "127.0.0.1:%d" % host["port"]}
                      for name, host in self.hosts.items()},
        }}
        if balanced:
            self.haproxy = Haproxy(self.base, self.hosts)
            inventory["all"]["hosts"]["balancer"] = {}
            # Ansible templates a play's hosts from extra vars only: the run names the group (run()).
            inventory["all"]["vars"].update({
                "wsgi_deploy_haproxy_host": "balancer",
                "wsgi_deploy_haproxy_socket": self.haproxy.socket, "wsgi_deploy_haproxy_backend": "app"})
        inventory["all"]["children"] = {"app": {"hosts": {name: {} for name in HOSTS}}}
        self.inventory = os.path.join(self.base, "inventory.yml")
        with open(self.inventory, "w") as handle:
            json.dump(inventory, handle)

    def seed_virtualenv(self, name, path):
        """The virtualenv a single-host deploy built, on every host, as BuiltVirtualenvs seeds one."""
        for host in self.hosts.values():
            shutil.copytree(path, os.path.join(host["root"], "venvs", name), symlinks=True)

    def command(self, args, extra_vars, playbook="deploy.yml"):
        env = dict(os.environ, ANSIBLE_CONFIG=os.path.join(ROOT, "ansible.cfg"),
                   PATH=BIN + os.pathsep + os.environ.get("PATH", ""))
        argv = [os.path.join(BIN, "ansible-playbook"), "-i", self.inventory,
                os.path.join(ROOT, "playbooks", playbook), "-e", json.dumps(dict({"wsgi_deploy_hosts": "app"}, **extra_vars))] + list(args)
        return argv, env

    def run(self, *args, **extra_vars):
        argv, env = self.command(args, extra_vars)
        return subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)

    def serves(self, name):
        with urllib.request.urlopen("http://127.0.0.1:%d/" % self.hosts[name]["port"], timeout=10) as response:
            return response.read().decode().strip()

    def live(self, name):
        return os.path.basename(os.readlink(os.path.join(self.hosts[name]["root"], "current")))

    def releases(self, name):
        return sorted(os.listdir(os.path.join(self.hosts[name]["root"], "releases")))

    def ran(self, path):
        with open(path) as handle:
            return handle.read().split()

    def stop(self):
        if getattr(self, "haproxy", None):
            self.haproxy.stop()
        for name, host in self.hosts.items():
            if os.path.exists(os.path.join(host["root"], "run", "server.pid")):
                argv, env = self.command(["--limit", name], {}, playbook="stop.yml")
                subprocess.run(argv, cwd=ROOT, env=env, capture_output=True, timeout=120)


def batches(run):
    """The hosts of each batch of the deploy play, in order, from the json callback's output."""
    plays = json.loads(run.stdout)["plays"]
    return [sorted(play["tasks"][0]["hosts"]) for play in plays
            if play["play"]["name"].startswith("Deploy a WSGI app")]


def host_facts(run, task_end, name):
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(task_end) and name in task["hosts"]:
                return task["hosts"][name]
    raise AssertionError("no task %r for %s in the output" % (task_end, name))


def fleet_summary(run, first="web1"):
    return host_facts(run, "Say which host runs which release", first)["msg"]


DRAIN_TASK = "Balancer | Drain this host, waiting up to wsgi_deploy_drain_timeout for its requests in flight"


def drained(run, name):
    """Whether the deploy drained the host at haproxy (the drain's task ran for it). A renamed
    task would read as no drain: a test that needs a drain would then fail."""
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith(DRAIN_TASK) and not task["hosts"].get(name, {"skipped": True}).get("skipped"):
                return True
    return False


