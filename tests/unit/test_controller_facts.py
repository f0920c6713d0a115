"""What the deploy lock learns about the controller, on Linux (/proc) and where there is no /proc (ps)."""
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
