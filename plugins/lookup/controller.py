# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
name: controller
short_description: Who holds a deploy lock on the controller, and which Ansible processes run there
description:
  - Answers, for each term, one fact about the controller that the deploy lock records or checks.
  - C(name) is the controller's host name. C(playbook_pid) is the PID of the C(ansible-playbook)
    that runs this lookup, the parent of the worker process that templates the task.
    C(ansible_pids) is the list of PIDs of the controller's processes whose command line holds
    C(ansible); a lock whose holder is not among them was left by a run that is gone.
  - C(pid_view) names what those PIDs are seen from - the PID namespace (C(pidns:) and its inode), and
    C(:partial) when this user cannot see every process (C(/proc) mounted with C(hidepid) and not root).
    A lock is broken only by a run with the same, complete, view as its holder's - never because a
    process could not be seen.
  - It reads C(/proc) where the controller has one (Linux), and C(ps) elsewhere (macOS, the BSDs).
version_added: "1.2.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  _terms:
    description: What to answer, C(name), C(playbook_pid), C(ansible_pids) or C(pid_view).
    required: true
    type: list
    elements: str
"""

EXAMPLES = r"""
- name: Preflight | Note who takes the lock
  ansible.builtin.set_fact:
    lock_owner:
      controller: "{{ lookup('graceful.wsgi_deploy.controller', 'name') }}"
      pid: "{{ lookup('graceful.wsgi_deploy.controller', 'playbook_pid') }}"
"""

RETURN = r"""
_raw:
  description: For each term, its answer - a string, a PID, or a list of PIDs.
  type: list
"""

import os
import platform
import subprocess

from ansible.errors import AnsibleLookupError
from ansible.plugins.lookup import LookupBase


def ansible_pids(proc="/proc", ps="ps"):
    """PIDs of the processes whose command line holds "ansible", from `proc` if it is there, else from `ps`."""
    if os.path.isdir(os.path.join(proc, "self")):
        return sorted(pid for pid in _proc_pids(proc) if b"ansible" in _cmdline(proc, pid))
    try:
        # -ww: without a terminal, ps cuts each line at 80 columns, and a long path hides the rest.
        listing = subprocess.run([ps, "-A", "-ww", "-o", "pid=", "-o", "command="], capture_output=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise AnsibleLookupError("cannot list the controller's processes, with no /proc and no working ps: %s" % exc)
    found = []
    for line in listing.splitlines():
        pid, _space, command = line.strip().partition(b" ")
        if pid.isdigit() and b"ansible" in command:
            found.append(int(pid))
    return sorted(found)


def _proc_pids(proc):
    return [int(name) for name in os.listdir(proc) if name.isdigit()]


def _cmdline(proc, pid):
    try:
        with open(os.path.join(proc, str(pid), "cmdline"), "rb") as handle:
            return handle.read()
    except OSError:
        return b""  # gone since the listing, or not ours to read


def pid_view(proc="/proc", uid=None):
    """What ansible_pids sees: the PID namespace's inode, and whether some processes are hidden."""
    if not os.path.isdir(os.path.join(proc, "self")):
        return "ps"  # ps -A lists every process of the system
    try:
        view = "pidns:%d" % os.stat(os.path.join(proc, "self", "ns", "pid")).st_ino
    except OSError:
        view = "pidns:unknown"
    uid = os.geteuid() if uid is None else uid
    return view + (":partial" if uid != 0 and _hides_pids(proc) else "")


def _hides_pids(proc):
    """Whether /proc is mounted so that a user sees only their own processes (hidepid)."""
    try:
        with open(os.path.join(proc, "self", "mountinfo")) as handle:
            lines = handle.read().splitlines()
    except OSError:
        return True  # cannot tell: count it as hiding
    for line in lines:
        fields = line.split()
        if len(fields) > 4 and fields[4] == proc:
            options = fields[-1].split(",")
            return any(option.startswith("hidepid=") and option not in ("hidepid=0", "hidepid=off")
                       for option in options)
    return False


ANSWERS = {
    "name": platform.node,
    "playbook_pid": os.getppid,
    "ansible_pids": ansible_pids,
    "pid_view": pid_view,
}


class LookupModule(LookupBase):

    def run(self, terms, variables=None, **kwargs):
        self.set_options(var_options=variables, direct=kwargs)
        unknown = [term for term in terms if term not in ANSWERS]
        if unknown:
            raise AnsibleLookupError("controller answers %s, not %s" % (", ".join(ANSWERS), ", ".join(unknown)))
        return [ANSWERS[term]() for term in terms]
