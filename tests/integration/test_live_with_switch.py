"""Go live's call that also switches (state=live, switch): the switch happens only after the
release's check passed, and every result, failed or not, says what was switched."""
import os

import yaml

from ansible_run import run_module
from test_release_state import make_release, make_venv

OLD, NEW = "20260101T000000000000Z", "20260202T000000000000Z"


def synced_root(tmp_path):
    """A root with a live release and virtualenv, and a new release synced into NEW.partial."""
    root = str(tmp_path / "app")
    make_release(root, OLD, venv="v1", key="k1")
    make_venv(root, "v1")
    make_venv(root, "v2")
    os.symlink("releases/" + OLD, os.path.join(root, "current"))
    os.symlink("venvs/v1", os.path.join(root, "venv"))
    os.makedirs(os.path.join(root, "releases", NEW + ".partial"))
    with open(os.path.join(root, "releases", NEW + ".partial", "main.py"), "w") as handle:
        handle.write("print(2)\n")
    return root


def go_live(root, **extra):
    args = dict(state="live", switch=True, root=root, release=NEW, release_key="k2", venv_key="v2",
                inputs_digest="d2", **extra)
    run = run_module("wsgi_release", args)
    return run, yaml.safe_load(run.stdout.split(" => ", 1)[1])


def links(root):
    return os.readlink(os.path.join(root, "current")), os.readlink(os.path.join(root, "venv"))


def test_a_release_whose_check_fails_is_never_switched_to_and_the_failure_says_so(tmp_path):
    root = synced_root(tmp_path)
    run, facts = go_live(root, import_check=["/bin/sh", "-c", "echo this release cannot be imported >&2; exit 3"])
    assert run.returncode != 0
    assert "the new release's app failed its check" in facts["msg"]
    assert facts["before_switch"] is True and facts["switched"] == [] and facts["failed_step"] == "release"
    assert "this release cannot be imported" in facts["stderr"]
    assert links(root) == ("releases/" + OLD, "venvs/v1")
    assert not os.path.exists(os.path.join(root, ".wsgi-deploy-live.json")), "nothing recorded"


def test_a_release_whose_check_passes_is_switched_to_then_recorded(tmp_path):
    root = synced_root(tmp_path)
    run, facts = go_live(root, import_check=["/bin/true"])
    assert run.returncode == 0, run.stdout[-2000:]
    assert facts["built"] is True and facts["switched"] == ["venv", "current"]
    assert facts["changed"] is True and facts["recorded"] is True
    assert links(root) == ("releases/" + NEW, "venvs/v2")
    assert not os.path.exists(os.path.join(root, "releases", NEW + ".partial"))


def test_a_failure_after_the_switch_names_the_links_to_switch_back(tmp_path):
    root = synced_root(tmp_path)
    # Nothing listens on port 1: the health check fails after the switch.
    run, facts = go_live(root, import_check=["/bin/true"], health_url="http://127.0.0.1:1/", health_timeout=0.5)
    assert run.returncode != 0
    assert "health check" in facts["msg"]
    assert facts["switched"] == ["venv", "current"] and "before_switch" not in facts
    assert facts["failed_step"] == "health" and "unlocked" not in facts
    assert links(root) == ("releases/" + NEW, "venvs/v2")
    assert not os.path.exists(os.path.join(root, ".wsgi-deploy-live.json")), "an app that does not answer is not recorded"
