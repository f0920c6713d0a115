"""What the role tests read back from a run and from the app."""
import json
import os
import urllib.request

from testservers import set_version as write_version


def result_of(run):
    """wsgi_deploy_result from the json callback's output."""
    for play in json.loads(run.stdout)["plays"]:
        for task in play["tasks"]:
            if task["task"]["name"].endswith("Record the result in wsgi_deploy_result"):
                return task["hosts"]["localhost"]["ansible_facts"]["wsgi_deploy_result"]
    raise AssertionError("no wsgi_deploy_result in the output")


def failure_of(run):
    """The message of the task that failed the play, from the json callback's output."""
    failed = [task["hosts"]["localhost"].get("msg", "") for play in json.loads(run.stdout)["plays"]
              for task in play["tasks"] if task["hosts"].get("localhost", {}).get("failed")]
    assert failed, "no task failed"
    return failed[-1]


def get(port, path="/"):
    with urllib.request.urlopen("http://127.0.0.1:%d%s" % (port, path), timeout=10) as response:
        return response.read().decode().strip()


def set_version(app, version):
    write_version(app.src, version)


def releases(app):
    return sorted(os.listdir(os.path.join(app.root, "releases")))


def live(app):
    """The release `current` points at."""
    return os.path.basename(os.readlink(os.path.join(app.root, "current")))
