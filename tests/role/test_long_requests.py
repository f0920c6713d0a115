"""wsgi_deploy_max_request_seconds: a reload lets every shorter request finish."""
import json
import os
import sys
import time

import pytest

from helpers import result_of, set_version
from roledeploy import ROOT

CONFIG = {"gunicorn": ("gunicorn.conf.py", "graceful_timeout = %d"),
          "uwsgi": ("uwsgi.ini", "worker-reload-mercy = %d")}
HOOK = """---
- name: Hook | Start one long request just before the reload
  ansible.builtin.command:
    argv: [sh, -c, 'exec "$0" "$1" --single --max-seconds=120 "$2" > "$3"', {python}, {load}, {url}, {out}]
  async: 150
  poll: 0
  changed_when: false

- name: Hook | Let it reach a worker
  ansible.builtin.wait_for:
    timeout: 1
"""


def deploy_with_request_in_flight(app, seconds, version, limit):
    """Deploy `version`; the hook starts a `seconds`-long request just before the reload."""
    out = os.path.join(app.base, "in-flight-%s.json" % version)
    hook = os.path.join(app.base, "hook-%s.yml" % version)
    with open(hook, "w") as handle:
        handle.write(HOOK.format(python=sys.executable, load=os.path.join(ROOT, "tools", "httpload.py"),
                                 url="http://127.0.0.1:%d/slow?s=%d" % (app.port, seconds), out=out))
    set_version(app, version)
    result = result_of(app.run(check=True, wsgi_deploy_max_request_seconds=limit,
                               wsgi_deploy_before_reload_tasks=hook))
    deadline = time.monotonic() + seconds + 60
    while not (os.path.exists(out) and os.path.getsize(out)):
        assert time.monotonic() < deadline, "the request in flight never ended"
        time.sleep(0.2)
    time.sleep(0.2)
    with open(out) as handle:
        return json.load(handle), result


@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_a_request_shorter_than_the_limit_finishes(deploy, server):
    app = deploy(server)
    app.run(check=True, wsgi_deploy_max_request_seconds=12)
    name, line = CONFIG[server]
    assert line % 17 in open(os.path.join(app.root, "etc", name)).read()

    request, result = deploy_with_request_in_flight(app, 10, "2", limit=12)
    assert result["reloaded"] is True
    assert (request["status"], request["body"]) == (200, "slow done v1")


def test_uwsgi_cuts_off_a_request_longer_than_the_limit(deploy):
    """The limit is really applied: under 1 s (6 s of mercy) a 20 s request does not survive."""
    app = deploy("uwsgi")
    app.run(check=True, wsgi_deploy_max_request_seconds=1)
    request, result = deploy_with_request_in_flight(app, 20, "2", limit=1)
    assert result["reloaded"] is True
    assert request["status"] != 200
