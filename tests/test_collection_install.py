"""A user installs the collection, as a built tarball or from its git URL, into a fresh
virtualenv of their own, and gets the role, the module and the playbooks by their full names."""
import json
import os
import re
import subprocess
import sys
import urllib.request

import pytest

from testservers import free_port

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
NAME = "graceful.wsgi_deploy"


def _pinned(package):
    with open(os.path.join(ROOT, "constraints.txt")) as handle:
        return re.search(r"^%s==(\S+)$" % re.escape(package), handle.read(), re.M).group(1)


def _run(argv, cwd, env, timeout=900):
    done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)
    assert done.returncode == 0, "%s failed:\n%s\n%s" % (" ".join(argv), done.stdout[-6000:], done.stderr[-3000:])
    return done.stdout


@pytest.fixture(scope="module")
def user(tmp_path_factory):
    """A clean clone of this repository, and a fresh virtualenv with the `ansible` package only."""
    home = tmp_path_factory.mktemp("user")
    clone = home / "clone"
    subprocess.run(["git", "clone", "-q", ROOT, str(clone)], check=True)
    venv = home / "venv"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    bin_dir = str(venv / "bin")
    # Nothing of the checkout's: no ansible.cfg, no collections/ link, no .venv on PATH.
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("ANSIBLE_", "VIRTUAL_ENV", "PYTEST", "MOLECULE_"))}
    env.update(PATH=bin_dir + os.pathsep + "/usr/sbin:/usr/bin:/sbin:/bin", HOME=str(home),
               ANSIBLE_NOCOLOR="1")
    _run([os.path.join(bin_dir, "pip"), "install", "-q", "ansible==%s" % _pinned("ansible")], home, env)
    return {"home": home, "clone": clone, "bin": bin_dir, "env": env}


def _install(user, source, into):
    env = dict(user["env"], ANSIBLE_COLLECTIONS_PATH=str(into))
    _run([os.path.join(user["bin"], "ansible-galaxy"), "collection", "install", "-p", str(into), source],
         user["home"], env)
    return env


def test_the_built_tarball_installs_and_its_demo_deploys_then_reloads(user):
    out = user["home"] / "dist"
    _run([os.path.join(user["bin"], "ansible-galaxy"), "collection", "build", "--output-path", str(out),
          str(user["clone"])], user["home"], user["env"])
    tarball = [name for name in os.listdir(out) if name.endswith(".tar.gz")]
    assert tarball == ["graceful-wsgi_deploy-%s.tar.gz" % _galaxy_version(user["clone"])]
    into = user["home"] / "from-tarball"
    env = _install(user, str(out / tarball[0]), into)
    installed = into / "ansible_collections" / "graceful" / "wsgi_deploy"
    port = free_port()
    inventory = str(installed / "inventory" / "localhost.yml")
    demo = _run([os.path.join(user["bin"], "ansible-playbook"), NAME + ".demo", "-i", inventory,
                 "-e", json.dumps({"wsgi_deploy_bind": "127.0.0.1:%d" % port})], user["home"], env)
    try:
        assert "before: hello v1   after: hello v2" in demo, demo[-3000:]
        with urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=10) as answer:
            assert answer.read().decode().strip() == "hello v2"
        # The release the demo went live with is the installed collection's own example app.
        live = installed / ".demo" / "srv" / "hello" / "current"
        assert os.path.realpath(str(live)).startswith(str(installed / ".demo" / "srv" / "hello" / "releases"))
    finally:
        _run([os.path.join(user["bin"], "ansible-playbook"), NAME + ".stop", "-i", inventory],
             user["home"], env, timeout=180)
    with pytest.raises(OSError):
        urllib.request.urlopen("http://127.0.0.1:%d/" % port, timeout=5)


def test_the_git_url_installs_the_role_the_module_and_the_playbooks(user):
    into = user["home"] / "from-git"
    env = _install(user, "git+file://%s/.git" % user["clone"], into)
    ansible_doc = os.path.join(user["bin"], "ansible-doc")
    module = json.loads(_run([ansible_doc, "--json", "-t", "module", NAME + ".wsgi_reload"], user["home"], env))
    assert module[NAME + ".wsgi_reload"]["doc"]["options"]["server"]["choices"] == ["gunicorn", "uwsgi", "uvicorn", "granian"]
    role = json.loads(_run([ansible_doc, "--json", "-t", "role", NAME + ".wsgi_deploy"], user["home"], env))
    assert {"main", "rollback"} <= set(role[NAME + ".wsgi_deploy"]["entry_points"])
    for playbook in ("deploy", "rollback", "stop", "demo"):
        _run([os.path.join(user["bin"], "ansible-playbook"), "--syntax-check", "%s.%s" % (NAME, playbook)],
             user["home"], env)


def _galaxy_version(clone):
    with open(os.path.join(str(clone), "galaxy.yml")) as handle:
        return re.search(r"^version: (\S+)$", handle.read(), re.M).group(1)
