# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations


class ModuleDocFragment(object):
    # What a deploy looks at on a host, module_utils/host_view.py's ARGUMENT_SPEC.
    DOCUMENTATION = r"""
options:
  root:
    description: The app's root on the server, holding C(current), C(venv), C(releases/) and C(venvs/).
    type: path
  dest:
    description:
      - A directory that a server set up by hand imports its app from, deployed into in place.
      - Whether it exists, and with O(inputs_digest) whether it still holds what the deploy recorded
        beside it made live (C(vouched)), and whether that deploy had these inputs (C(unchanged)).
    type: path
  exclude:
    description:
      - With O(dest), the rsync exclude patterns of the sync, whose matches in O(dest) (logs, a
        pidfile) are not part of what it holds.
    type: list
    elements: str
    default: []
  inputs_digest:
    description: The digest of everything the deploy makes live, worked out on the controller by its plan.
    type: str
    default: ""
  venv_key:
    description: The key of the virtualenv the inputs need, the name of a directory in C(venvs/).
    type: str
    default: ""
  file_digests:
    description: Files on the server, each with the SHA-256 its content must have for the record to hold.
    type: dict
    default: {}
  server:
    description:
      - The app server whose master to look for, as M(graceful.wsgi_deploy.wsgi_reload) with
        O(graceful.wsgi_deploy.wsgi_reload#module:state=status) does.
    type: str
    choices: [gunicorn, uwsgi, uvicorn, granian]
  method:
    description:
      - With O(dest), the reload method whose preconditions the server set up by hand must meet
        before its code is synced in place, checked as M(graceful.wsgi_deploy.wsgi_reload) checks them.
    type: str
    choices: [hup, usr2, ttin, chain, full, fifo, workers]
  reload_timeout:
    description: With O(method), the seconds the reload would get, for its preconditions.
    type: float
    default: 120
  fifo_file:
    description: The C(master-fifo) of uWSGI. With O(root), one that is there but is not a FIFO is refused.
    type: path
  drain_mark:
    description:
      - The mark a deploy leaves while its host is drained from the balancer, made as the lock is. Returns
        C(drain_left), whether a deploy left it. One that the deploying user did not make (not its own directory,
        or a link) is refused.
    type: path
  log_file:
    description:
      - The server's log, whose last lines to report, read only as a regular file, never through a
        symlink or from a FIFO. With O(root), one that is there but is not a regular file with one
        link is refused.
    type: path
  unit:
    description:
      - A systemd unit whose main PID to report. On a host that does not run systemd, it is refused,
        and so is a unit without root.
    type: str
  venv_python:
    description:
      - The interpreter the app's virtualenv is made with. When the virtualenv O(venv_key) is not
        complete yet, an interpreter that cannot make one (Debian's C(python3) without C(python3-venv))
        is refused.
    type: path
  require_rsync:
    description: Refuse a host without C(rsync), which the sync needs.
    type: bool
    default: false
  new_release_name:
    description:
      - The name a release made now gets (returned as C(stamp)) instead of the server's clock, such
        as one chosen on the controller for every host of a fleet.
      - Releases sort by name. Unless the deploy is unchanged, a name that does not sort after every
        release already there (complete or cut off) is refused.
    type: str
    default: ""
  app_user:
    description:
      - With O(root), the user the server runs as. Without root, any user but the module's own is
        refused; with root, an existing login user, a user with uid 0, or one whose group is not
        its own.
    type: str
"""
