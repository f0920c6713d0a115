#!/usr/bin/python
# -*- coding: utf-8 -*-
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
from __future__ import annotations

DOCUMENTATION = r"""
---
module: wsgi_reload
short_description: Gracefully reload gunicorn, uWSGI, uvicorn or Granian and wait until the reload has really ended
description:
  - Reads the server's pidfile and refuses, signalling nothing, unless the PID is a live
    gunicorn, uWSGI, uvicorn or Granian master (not a worker, not an unrelated process left behind by a stale
    pidfile).
  - Snapshots the worker PIDs and the log's offset, then triggers the reload by O(method).
  - Waits for the end that the server itself marks, polling every 50 ms. V(hup) has ended when
    every old worker has exited and as many new ones are in their serving loop. V(chain) has ended
    when uWSGI logs C(chain reloading complete) after the touch. V(usr2) has ended when the new
    master's workers serve, the old master (sent C(SIGTERM) only then) has exited and the new one
    holds the pidfile. V(full) has ended when the re-executed uWSGI master's new workers have all
    logged that the app is ready, V(workers) when the new workers have. V(fifo) ends as V(chain).
    uvicorn's V(hup) has ended when no old worker is left and each new one has logged C(Started server
    process) with its PID; uvicorn stops an old worker only once its successor is ready. Granian's
    V(hup) has ended when no old worker is left and each new one has logged C(Started worker-N), which
    it writes once it has loaded the app (its PID is the one the master's C(Spawning worker-N) line
    named). Granian stops each old worker a fixed C(--respawn-interval) after it spawned the new one,
    ready or not; an old worker stopped before its successor had started is returned in
    RV(stopped_early), with a warning.
  - Before anything is signalled, refuses a method that the server's own command line and config
    file keep from loading new code. V(hup) with gunicorn's C(preload_app) on; V(chain) without
    uWSGI's C(lazy-apps); V(full) of a pyuwsgi without C(binary-path); a uvicorn without a master
    (C(--workers 1)), or whose C(--app-dir) is relative, so that its new workers would import the
    release its working directory holds; a Granian with one worker. A config it cannot read is not
    refused.
  - Fails with the log lines that show why when the master dies, when uWSGI workers log that the
    app failed to load (uWSGI still calls such a chain complete), when uWSGI does not react to the
    touch, when uvicorn logs that it gave the restart up (a new worker not ready within its
    C(--timeout-worker-healthcheck), which keeps the old worker and its old code), when a Granian worker
    exits unbidden (Granian then stops), or on timeout.
  - With O(health_url), once the reload has ended, asks the app at that URL until it answers
    O(health_status) with O(health_text) in its answer, for up to O(health_timeout) seconds, and fails
    saying what it answered otherwise. So the new code is known to answer, in the same call.
  - O(state=status) only reports whether the pidfile names a live master.
  - O(state=stopped) stops it, for a restart of a server that no service manager runs.
  - O(state=started) starts a server that no service manager runs, and is not running, by running
    O(command) as O(user) in O(chdir). The module drops to that user itself, so the host needs no
    C(sudo). Then it waits until the master runs with O(expected_workers) workers (at least one),
    for up to O(timeout) seconds, and fails with the end of O(log_file) otherwise.
version_added: "1.0.0"
author: wsgi-deploy developers (@wsgi-deploy)
options:
  server:
    description: Which server runs the app.
    type: str
    required: true
    choices: [gunicorn, uwsgi, uvicorn, granian]
  pidfile:
    description:
      - The pidfile that names the server's master process. Required for gunicorn, uvicorn (which
        writes none itself; its starter writes it) and Granian (its C(--pid-file)); uWSGI needs it or
        O(reload_file).
      - Without it, the uWSGI master is the only one running whose command line or ini file
        names O(reload_file).
    type: path
  reload_file:
    description:
      - The C(touch-chain-reload) path of uWSGI. Required for O(method=chain), which is what
        O(server=uwsgi) with O(state=reloaded) does when O(method) is not given.
    type: path
  log_file:
    description:
      - The server's log. For gunicorn it is read for the report only.
      - For uWSGI, uvicorn and Granian it is how the end of the reload is seen; when omitted, the file behind the
        master's standard error is used, and the module fails before touching anything if there is none.
    type: path
  method:
    description:
      - How to reload. The default is the server's graceful reload that keeps the master,
        V(hup) for gunicorn and V(chain) for uWSGI. These keep the master's interpreter too, so
        new packages in a new virtualenv are not seen by them.
      - V(usr2) (gunicorn) starts a new master beside the old one, by re-executing the old one's
        command line, and stops the old one only once the new one's workers serve. Code that
        fails leaves the old master serving.
      - V(ttin) (gunicorn) keeps the master and starts the new workers beside the old ones, one
        C(SIGTTIN) per worker; once every new worker serves, one C(SIGTTOU) per old worker retires
        them, oldest first. No request waits for the new code's import, as under V(hup), where the
        old workers stop at once. The master's config is not read again, so a changed config needs
        V(hup) or V(usr2). Each signal waits for the master to act on the one before; its log at
        C(loglevel) C(info) shows that sooner.
      - V(chain) (uWSGI) touches O(reload_file), which must be its C(touch-chain-reload), and needs
        C(lazy-apps).
      - V(fifo) (uWSGI) is the same chain reload, asked for by writing C(c) to O(fifo_file), and
        needs C(lazy-apps).
      - V(workers) (uWSGI) writes C(w) to O(fifo_file). Every worker is reloaded at once, without
        re-executing the master; with C(http-socket) new connections wait meanwhile. It needs
        C(lazy-apps).
      - V(full) (uWSGI) is C(SIGHUP), a graceful full reload. The master waits for every worker to
        finish, re-executes itself and forks new workers. With C(http-socket) in flight requests
        complete and new connections wait; a pyuwsgi in a virtualenv needs C(binary-path).
      - V(hup) is uvicorn's one method (uvicorn 0.51 and later, C(--workers) 2 or more). It keeps the
        master and its interpreter and replaces one worker at a time; no request waits for the import.
      - V(hup) is Granian's one method too (C(--workers) 2 or more), one worker at a time, the old one
        stopped C(--respawn-interval) seconds after the new one was spawned. With an interval longer
        than the app takes to start, no request waits for the import.
    type: str
    choices: [hup, usr2, ttin, chain, full, fifo, workers]
  fifo_file:
    description:
      - The C(master-fifo) path of uWSGI. Required for O(method=fifo) and O(method=workers).
    type: path
  expected_workers:
    description:
      - How many workers gunicorn runs once reloaded. Defaults to as many as before the reload.
    type: int
  command:
    description: With O(state=started), the command that starts the server, as a list of words (no shell).
    type: list
    elements: str
  user:
    description: With O(state=started), the user to run O(command) as; the module's own user when omitted.
    type: str
  chdir:
    description: With O(state=started), the directory to run O(command) in.
    type: path
  app_root:
    description:
      - The root of an app deployed by the role. The values of its live release's environment (C(wsgi_deploy_env)),
        and each of their parts of 8 characters or more, are masked in the message and the server's log lines that a
        failure quotes, which may print them.
    type: path
  timeout:
    description: Seconds to wait for the reload to end before failing.
    type: float
    default: 120
  state:
    description:
      - V(reloaded) reloads and waits. V(status) reports whether the server runs and changes nothing.
      - V(stopped) stops the master (gunicorn SIGTERM, uWSGI SIGQUIT, graceful under the role's config) and waits for it to exit.
      - V(started) starts a server that is not running by O(command), as O(user), and waits for its workers.
    type: str
    choices: [reloaded, status, stopped, started]
    default: reloaded
notes:
  - The logic lives in the collection's module_utils, C(reload.py), C(processes.py), C(server_log.py)
    and C(server_config.py).
  - Runs as a user allowed to signal the master and to touch the reload file.
extends_documentation_fragment:
  - graceful.wsgi_deploy.health
  - graceful.wsgi_deploy.master
attributes:
  check_mode:
    description: Runs every check that can refuse a reload or a stop, then reports what it would do.
    support: full
  diff_mode:
    description: There is no file content to compare; a reload changes processes.
    support: none
"""

EXAMPLES = r"""
- name: Reload | Reload gunicorn gracefully
  graceful.wsgi_deploy.wsgi_reload:
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
    log_file: /srv/shop/log/server.log
    timeout: 60
  register: reload

- name: Reload | Start a new gunicorn master, on a new virtualenv
  graceful.wsgi_deploy.wsgi_reload:
    server: gunicorn
    method: usr2
    pidfile: /srv/shop/run/server.pid

- name: Reload | Reload gunicorn, then check that the new code answers
  graceful.wsgi_deploy.wsgi_reload:
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
    health_url: http://127.0.0.1:8000/health
    health_text: ok
    health_headers:
      Host: shop.example.com

- name: Reload | Chain-reload uWSGI
  graceful.wsgi_deploy.wsgi_reload:
    server: uwsgi
    pidfile: /srv/shop/run/server.pid
    reload_file: /srv/shop/run/reload.touch

- name: Prepare | Is the server running?
  graceful.wsgi_deploy.wsgi_reload:
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
    state: status
  register: status

- name: Start | Start gunicorn as the app's user, without sudo, and wait for its two workers
  graceful.wsgi_deploy.wsgi_reload:
    server: gunicorn
    pidfile: /srv/shop/run/server.pid
    state: started
    command: [/srv/shop/venv/bin/python, /srv/shop/venv/bin/gunicorn, --config, /srv/shop/etc/gunicorn.conf.py]
    user: shop
    chdir: /srv/shop
    expected_workers: 2
    timeout: 60
"""

RETURN = r"""
reloaded:
  description: Whether a reload was triggered and ended well; false in check mode.
  returned: state=reloaded
  type: bool
server:
  description: The server, as given in O(server).
  returned: state=reloaded
  type: str
method:
  description: The method used, V(hup), V(usr2), V(ttin), V(chain), V(fifo), V(full) or V(workers).
  returned: state=reloaded
  type: str
master_pid:
  description:
    - The master's PID once reloaded; only V(usr2) changes it.
    - With O(state=status) or O(state=stopped), the PID the pidfile names, if any.
  returned: always
  type: int
old_master_pid:
  description: The master's PID before the reload.
  returned: state=reloaded, not in check mode
  type: int
old_pids:
  description: Worker PIDs before the reload.
  returned: state=reloaded
  type: list
  elements: int
stopped_early:
  description:
    - Granian only. The numbers of the workers whose old process Granian stopped before the new one had
      loaded the app; requests waited meanwhile. Empty when its C(--respawn-interval) covered the start.
  returned: state=reloaded, server=granian
  type: list
  elements: int
new_pids:
  description: Worker PIDs alive once the reload ended; empty in check mode.
  returned: state=reloaded
  type: list
  elements: int
duration_s:
  description: Seconds from the trigger to the end the module saw.
  returned: state=reloaded
  type: float
started_at:
  description: When the reload was triggered, in seconds since the epoch.
  returned: success, state=reloaded, not in check mode
  type: float
trigger:
  description:
    - What started the reload, the one step that changed the server. A signal and the PID it went
      to, the reload file that was touched, or the command written to the master FIFO.
  returned: success, state=reloaded, not in check mode
  type: str
  sample: "SIGHUP to PID 4242"
ended_by:
  description: What marked the end, in words.
  returned: success, state=reloaded, not in check mode
  type: str
  sample: "log: chain reloading complete"
log_file:
  description: The log that was read, if any.
  returned: state=reloaded
  type: str
log_lines:
  description: The last lines the server logged after the trigger (at most 40).
  returned: state=reloaded
  type: list
  elements: str
health:
  description:
    - The health check's answer, when O(health_url) was given. On failure too, with the other facts.
  returned: state=reloaded with health_url, not in check mode
  type: dict
  contains:
    url:
      description: The URL asked.
      type: str
    status:
      description: The last HTTP status; 0 when nothing answered.
      type: int
    content:
      description: The last answer's body, its first 64 KiB.
      type: str
    attempts:
      description: How many times it was asked.
      type: int
    duration_s:
      description: Seconds spent asking.
      type: float
    problem:
      description: What was wrong with the last answer; empty when it was as expected.
      type: str
running:
  description: Whether the server's master runs.
  returned: state=status or stopped, and on failure when the master is gone
  type: bool
workers:
  description: Worker PIDs.
  returned: state=status, stopped or started
  type: list
  elements: int
stopped:
  description: Whether the master was stopped.
  returned: state=stopped
  type: bool
started:
  description: Whether the server was started (it was not running).
  returned: state=started
  type: bool
foreign:
  description:
    - Whether the pidfile names a live process that is not the server's master (an unrelated
      process, or a worker). Such a process is never signalled.
  returned: state=status, stopped or started
  type: bool
reason:
  description: Why the server counts as not running.
  returned: state=status, stopped or started
  type: str
"""

import os
import pwd

from ansible.module_utils.basic import AnsibleModule

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import health, releases
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.reload import (
    MASTER_ARGUMENT_SPEC, SERVER_REQUIRED_IF, SERVERS, ReloadError, reload_server, server_status, start_server,
    stop_server)


def main():
    module = AnsibleModule(
        argument_spec={
            "server": {"type": "str", "required": True, "choices": list(SERVERS)},
            "pidfile": {"type": "path"},
            "reload_file": {"type": "path"},
            **MASTER_ARGUMENT_SPEC,
            "log_file": {"type": "path"},
            "method": {"type": "str", "choices": ["hup", "usr2", "ttin", "chain", "full", "fifo", "workers"]},
            "fifo_file": {"type": "path"},
            "expected_workers": {"type": "int"},
            "timeout": {"type": "float", "default": 120},
            "state": {"type": "str", "default": "reloaded", "choices": ["reloaded", "status", "stopped", "started"]},
            "command": {"type": "list", "elements": "str"},
            "user": {"type": "str"},
            "chdir": {"type": "path"},
            "app_root": {"type": "path"},
            **health.ARGUMENT_SPEC,
        },
        required_if=[
            *SERVER_REQUIRED_IF,
            ("state", "started", ["command"]),
        ],
        supports_check_mode=True,
    )
    params = module.params
    # required_if cannot see a default that depends on the server: chain is uWSGI's.
    if (params["state"] == "reloaded" and params["server"] == "uwsgi" and not params["method"]
            and not params["reload_file"]):
        module.fail_json(msg="uWSGI is chain-reloaded by default, which touches reload_file: give "
                             "reload_file (its touch-chain-reload path), or choose another method")
    if params["state"] == "status":
        module.exit_json(**server_status(params))
    try:
        if params["state"] == "stopped":
            module.exit_json(**stop_server(params, check_mode=module.check_mode))
        if params["state"] == "started":
            try:
                user = pwd.getpwnam(params["user"]) if params["user"] else pwd.getpwuid(os.geteuid())
            except KeyError:
                # In check mode a first deploy's app user is not made yet; nothing runs as it.
                if not module.check_mode:
                    module.fail_json(msg="no user %s to run the %s as" % (params["user"], params["server"]))
                user = None
            module.exit_json(**start_server(params, user, check_mode=module.check_mode))
        result = reload_server(params, check_mode=module.check_mode)
    except ReloadError as exc:
        # The server's log lines, which a failure quotes, may print the app's settings.
        facts = dict(exc.facts)
        if facts.get("log_lines"):
            facts["log_lines"] = releases.masked(facts["log_lines"], params["app_root"])
        module.fail_json(msg=releases.masked([exc.msg], params["app_root"])[0], reloaded=False, **facts)
    if params["health_url"] and not module.check_mode:
        answer = result["health"] = health.ask(params)
        if answer["problem"]:
            msg, facts = health.failure(result, answer)
            module.fail_json(msg, **facts)
    module.exit_json(**result)


if __name__ == "__main__":
    main()
