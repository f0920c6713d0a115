"""What the role tests read back from a run and from the app."""
import json
import os
import urllib.request

from httpload import Load
from roledeploy import Deploy
from testservers import free_port
from testservers import set_version as write_version

# The app's own user in the tests that make one (conftest.py's app_user_deploy); one for each
# pytest-xdist process, which makes and removes it (gw0: wsgitestapp, gw1: wsgitestapp1).
APP_USER = "wsgitestapp" + (os.environ.get("PYTEST_XDIST_WORKER", "gw0")[2:].lstrip("0") or "")


def result_of(run):
    """wsgi_deploy_result from the json callback's output."""
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Record the result in wsgi_deploy_result"):
                return task["hosts"]["localhost"]["ansible_facts"]["wsgi_deploy_result"]
    raise AssertionError("no wsgi_deploy_result in the output")


# The run's last task, which fails the run without saying again why (the deploy's task did).
# Tasks that fail a host whose deploy already said why, without saying it again.
RUN_FAILED = ("Fleet | Fail the host whose deploy failed", "Deploy | Stop the deploy, as it said above")


def failure_of(run):
    """The message of the deploy's task that failed, from the json callback's output."""
    failed = [task["hosts"]["localhost"].get("msg", "") for play in json.loads(run.stdout)["plays"]
              for task in play["tasks"] if task["hosts"].get("localhost", {}).get("failed")
              and not task["task"]["name"].endswith(RUN_FAILED)]
    assert failed, "no task failed"
    return failed[-1]


def get(port, path="/"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
        return response.read().decode().strip()


# Each load client waits this long after an answer: about 300 requests a second from 4 clients, a
# request every 3 ms, at half a core where an unpaced load takes most of two (1,840 a second at 1.6
# cores, measured) and slows the deploy it runs beside and the tests of pytest's other process.
# The reload methods are proven under the full-rate load, module against server (tests/integration).
PACE = 0.01


def under_load(app, url=None):
    """A bounded, paced load of 4 clients on the app (or url), for the length of a `with` block."""
    return Load(url or "http://127.0.0.1:%d/" % app.port, clients=4, max_seconds=300, pace=PACE)


def assert_no_request_failed(load):
    report = load.report()
    assert report["failed"] == 0 and report["ok"] > 0, report


def set_version(app, version):
    write_version(app.src, version)


def releases(app):
    return sorted(os.listdir(os.path.join(app.root, "releases")))


def live(app):
    """The release `current` points at."""
    return os.path.basename(os.readlink(os.path.join(app.root, "current")))


def cut_off_hook(tmp_path, after):
    """A before-reload hook that kills the deploy where it runs (after its switch, or its in-place
    sync), as a lost controller would. Returns its path, for wsgi_deploy_before_reload_tasks."""
    hook = tmp_path / "cut_off.yml"
    hook.write_text(
        "- name: Go live | Cut the deploy off after its %s\n"
        "  ansible.builtin.command: pkill -KILL -f {{ wsgi_deploy_src | quote }}\n"
        "  delegate_to: localhost\n"
        "  changed_when: true\n" % after)
    return str(hook)


def deploys(base, built_venvs):
    """Yields make(server, reuse_venv): an app deployed under base, starting from a virtualenv
    built earlier in the run unless reuse_venv is false. Stops every one made, at the end."""
    made = []

    def make(server="gunicorn", reuse_venv=True):
        item = Deploy(os.path.join(str(base), server), free_port(), server)
        if reuse_venv:
            item.before_run, item.after_run = built_venvs.seed, built_venvs.keep
        made.append(item)
        return item

    yield make
    for item in made:
        item.stop()
