"""A second sshd on a free 127.0.0.1 port, for the benchmarks and the tests that need a real SSH
connection: Debian's openssh-server, with every file of its own in one directory."""
import getpass
import os
import shutil
import socket
import subprocess
import time

from testservers import free_port

SSHD = "/usr/sbin/sshd"


def ensure_sshd():
    """Debian's openssh-server, for its sshd binary only: the package's own service is never
    started here (a container's policy-rc.d stops it anyway) and its config is never read."""
    if os.path.exists(SSHD):
        return
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    install = ["apt-get", "install", "-y", "-q", "--no-install-recommends", "openssh-server"]
    if subprocess.run(install, env=env, capture_output=True).returncode != 0:
        subprocess.run(["apt-get", "update", "-q"], env=env, capture_output=True, check=True)
        subprocess.run(install, env=env, capture_output=True, check=True)


class Sshd(object):
    """A second sshd, all of whose files are in `base`: its config, host key, the one
    authorized key and its pidfile. The system's sshd and ~/.ssh are never touched."""

    def __init__(self, base):
        self.base = base
        self.port = free_port()
        self.key = os.path.join(base, "client_key")
        self.control_dir = os.path.join(base, "cp")
        self.log = os.path.join(base, "sshd.log")
        self.proc = None
        self._made_run_dir = False

    def start(self):
        ensure_sshd()
        os.makedirs(self.control_dir)
        host_key = os.path.join(self.base, "host_key")
        for path in (host_key, self.key):
            subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", path], check=True)
        shutil.copy(self.key + ".pub", os.path.join(self.base, "authorized_keys"))
        config = os.path.join(self.base, "sshd_config")
        with open(config, "w") as handle:
            handle.write("\n".join([
                "ListenAddress 127.0.0.1", "Port %d" % self.port, "HostKey %s" % host_key,
                "PidFile %s" % os.path.join(self.base, "sshd.pid"),
                "AuthorizedKeysFile %s" % os.path.join(self.base, "authorized_keys"),
                "PermitRootLogin prohibit-password", "PubkeyAuthentication yes",
                "PasswordAuthentication no", "KbdInteractiveAuthentication no", "UsePAM no",
                # The temp dir's parent is /tmp, which strict modes would refuse.
                "StrictModes no", "MaxSessions 100", "MaxStartups 100",
                "Subsystem sftp /usr/lib/openssh/sftp-server", "LogLevel ERROR", ""]))
        # sshd's privilege separation needs this directory, which its service creates.
        if not os.path.isdir("/run/sshd"):
            os.makedirs("/run/sshd", mode=0o755)
            self._made_run_dir = True
        with open(self.log, "w") as log:
            self.proc = subprocess.Popen([SSHD, "-D", "-e", "-f", config], stdout=log, stderr=log,
                                         start_new_session=True)
        self._wait_ready()
        return self

    def _wait_ready(self, seconds=15):
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                break
            try:
                socket.create_connection(("127.0.0.1", self.port), 1).close()
            except OSError:
                time.sleep(0.1)
                continue
            check = subprocess.run(["ssh"] + self.client_options() + ["-p", str(self.port),
                                   "%s@127.0.0.1" % getpass.getuser(), "true"],
                                   capture_output=True, text=True, timeout=30)
            if check.returncode == 0:
                return
            raise RuntimeError("ssh to the bench's sshd failed: %s\n%s" % (check.stderr, self._log()))
        raise RuntimeError("the bench's sshd did not come up:\n" + self._log())

    def client_options(self):
        return ["-i", self.key, "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
                "-o", "LogLevel=ERROR", "-o", "BatchMode=yes"]

    def known_hosts(self, path):
        """Write a known_hosts file that holds this sshd's host key; returns its path."""
        with open(os.path.join(self.base, "host_key.pub")) as handle:
            kind, key = handle.read().split()[:2]
        with open(path, "w") as handle:
            handle.write("[127.0.0.1]:%d %s %s\n" % (self.port, kind, key))
        return path

    def rekey_command(self):
        """A shell command that gives this sshd a new host key: connections made from then on meet it,
        those it already serves go on."""
        new_key = os.path.join(self.base, "new_host_key")
        return ("rm -f {new} {new}.pub && ssh-keygen -q -t ed25519 -N '' -f {new} && cp {new} {key} && "
                "cp {new}.pub {key}.pub && kill -HUP {pid}").format(
                    new=new_key, key=os.path.join(self.base, "host_key"), pid=self.proc.pid)

    def host_vars(self):
        """What Ansible needs to reach it. The control sockets live in `base` too, so that the
        persistent connections can be closed at the end."""
        return {"ansible_connection": "ssh", "ansible_host": "127.0.0.1", "ansible_port": self.port,
                "ansible_user": getpass.getuser(), "ansible_ssh_private_key_file": self.key,
                "ansible_ssh_common_args": " ".join(self.client_options()[2:]),
                "ansible_ssh_pipelining": True, "ansible_control_path_dir": self.control_dir}

    def _log(self):
        with open(self.log) as handle:
            return handle.read()[-3000:]

    def stop(self):
        """The persistent connections first (ssh -O exit on each control socket), then sshd."""
        if os.path.isdir(self.control_dir):
            for name in os.listdir(self.control_dir):
                subprocess.run(["ssh", "-O", "exit", "-o", "ControlPath=" + os.path.join(self.control_dir, name),
                                "127.0.0.1"], capture_output=True, timeout=30)
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        if self._made_run_dir:
            try:
                os.rmdir("/run/sshd")
            except OSError:
                pass
