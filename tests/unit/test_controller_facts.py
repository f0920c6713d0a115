"""What the deploy lock learns about the controller, on Linux (/proc) and where there is no /proc (ps)."""
import os
import subprocess
import sys

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.lookup.controller import ansible_pids


@pytest.fixture
def processes():
    """A process whose command line names ansible, and one whose does not."""
    # The marker comes after a long argument, as after a long path to Python: ps cuts lines short.
    script = "import time; print('up', flush=True); time.sleep(60)"
    started = [subprocess.Popen([sys.executable, "-c", script, "x" * 200, marker], stdout=subprocess.PIPE)
               for marker in ("ansible-playbook-stand-in", "unrelated-stand-in")]
    # Until a child has exec'd Python, its command line is still pytest's: wait for it to speak.
    for proc in started:
        assert proc.stdout.readline() == b"up\n"
    yield started
    for proc in started:
        proc.kill()
        proc.wait()
        proc.stdout.close()


@pytest.mark.parametrize("proc", ["/proc", "/nonexistent/proc"], ids=["proc", "ps"])
def test_the_ansible_processes_are_found_with_or_without_proc(processes, proc):
    ansible, unrelated = processes

    found = ansible_pids(proc=proc)

    assert ansible.pid in found and unrelated.pid not in found


def test_without_proc_or_ps_the_lookup_says_so(processes):
    with pytest.raises(Exception) as raised:
        ansible_pids(proc="/nonexistent/proc", ps="/nonexistent/ps")
    assert "no /proc and no working ps" in str(raised.value)


def test_the_pid_view_names_the_pid_namespace_and_a_proc_that_hides_processes(tmp_path):
    from ansible_collections.graceful.wsgi_deploy.plugins.lookup.controller import pid_view
    here = pid_view()
    assert here.startswith("pidns:") and not here.endswith(":partial")
    # A run in a PID namespace of its own sees other PIDs: its view differs.
    other = subprocess.run(["unshare", "--pid", "--fork", "--mount-proc", sys.executable, "-c",
                            "from ansible_collections.graceful.wsgi_deploy.plugins.lookup.controller import pid_view; "
                            "print(pid_view())"], capture_output=True, text=True, check=True,
                           env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))).stdout.strip()
    assert other.startswith("pidns:") and other != here
    # /proc mounted with hidepid: a user that is not root does not see every process.
    proc = tmp_path / "proc"
    (proc / "self" / "ns").mkdir(parents=True)
    (proc / "self" / "mountinfo").write_text("22 1 0:21 / %s rw,nosuid - proc proc rw,hidepid=invisible\n" % proc)
    assert pid_view(str(proc), uid=1000).endswith(":partial")
    assert not pid_view(str(proc), uid=0).endswith(":partial")
    (proc / "self" / "mountinfo").write_text("22 1 0:21 / %s rw,nosuid - proc proc rw\n" % proc)
    assert not pid_view(str(proc), uid=1000).endswith(":partial")
