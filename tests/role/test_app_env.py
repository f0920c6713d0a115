"""The app's settings and secrets (wsgi_deploy_env) and its release commands, as a Django or
Flask app needs them: the app's own user sees every value as given, nothing shows them to anyone
else, a change alone goes live, and a failing command (a migration) stops before the switch."""
import os
import stat
import subprocess

import pytest

from helpers import APP_USER, failure_of, get, live, releases, result_of, set_version

# Characters that a shell, systemd or a uWSGI config would each read as something else.
GREETING = "hi %d %(x) $(HOME) ${USER} @(/etc/hostname) 'q' \"qq\" \\ #x ;y =z"
SECRET = "s3cret-9f2c41d7e0"
AS_APP_USER = {"wsgi_deploy_user": APP_USER, "wsgi_deploy_python": "/usr/bin/python3"}

# The app reads its environment where a Django settings module would: at import, and per request.
ENV_ROUTES = '''

import os as _os


@app.route("/env/<name>")
def env(name):
    return _os.environ.get(name, "<unset>")
'''


def app_with_env_routes(app):
    with open(os.path.join(app.src, "main.py"), "a") as handle:
        handle.write(ENV_ROUTES)


def everything_printed(run):
    return run.stdout + run.stderr


def command_lines():
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open("/proc/%s/cmdline" % pid, "rb") as handle:
                found.append(handle.read().replace(b"\0", b" ").decode("utf-8", "replace"))
        except OSError:
            pass
    return found


# One app per server, each carrying its values its own way (uWSGI imports them in each worker,
# gunicorn's config hands them over): as given, secret, then changed alone, dropped, rolled back.
@pytest.mark.parametrize("server", ["gunicorn", "uwsgi"])
def test_the_app_sees_its_environment_as_given_and_a_change_to_it_alone_goes_live_and_rolls_back(
        app_user_deploy, server):
    app = app_user_deploy(server)
    app_with_env_routes(app)
    # Its own value: the other server's test may be deploying it, on its command line, at once.
    secret = "%s-%s" % (SECRET, server)
    env = {"GREETING": GREETING, "SECRET_TOKEN": secret, "WORKERS_HINT": 3}

    first = app.run("-vvv", check=True, wsgi_deploy_env=env, **AS_APP_USER)

    assert get(app.port, "/env/GREETING") == GREETING
    assert get(app.port, "/env/WORKERS_HINT") == "3"
    assert get(app.port, "/env/SECRET_TOKEN") == secret
    # Not in Ansible's output (even at -vvv), on a command line, or in a file others can read.
    assert secret not in everything_printed(first)
    assert not [line for line in command_lines() if secret in line]
    first_release = live(app)
    env_file = os.path.join(app.root, "releases", first_release, ".wsgi-deploy-env")
    info = os.stat(env_file)
    app_gid = int(subprocess.run(["id", "-g", APP_USER], capture_output=True, text=True, check=True).stdout)
    assert (info.st_uid, info.st_gid, stat.S_IMODE(info.st_mode)) == (0, app_gid, 0o640)
    for record in (".wsgi-deploy-live.json", "releases/%s/.wsgi-deploy-release" % first_release):
        with open(os.path.join(app.root, record)) as handle:
            assert secret not in handle.read()

    changed = result_of(app.run(check=True, wsgi_deploy_env=dict(env, GREETING="after"), **AS_APP_USER))

    assert changed["reloaded"] is True and changed["release"] != first_release
    assert get(app.port, "/env/GREETING") == "after"
    again = app.run(check=True, wsgi_deploy_env=dict(env, GREETING="after"), **AS_APP_USER)
    assert result_of(again)["reloaded"] is False and len(releases(app)) == 2

    # A variable dropped from the mapping is gone from the app too.
    app.run(check=True, wsgi_deploy_env={"OTHER": "x"}, **AS_APP_USER)
    assert get(app.port, "/env/GREETING") == "<unset>"

    app.run(check=True, playbook="rollback.yml", wsgi_deploy_rollback_to=first_release, **AS_APP_USER)
    assert get(app.port, "/env/GREETING") == GREETING


@pytest.mark.parametrize("bad, says", [
    ({"1ST": "x"}, "'1ST' is not a variable name"),
    ({"DEBUG": True}, "wsgi_deploy_env.DEBUG must be a string or a number"),
    ({"KEY": "two\nlines-%s" % SECRET}, "wsgi_deploy_env.KEY holds a line break"),
    ({"KEY": SECRET + " "}, "wsgi_deploy_env.KEY starts or ends with whitespace"),
    ("KEY=%s" % SECRET, "wsgi_deploy_env must be a mapping"),
])
def test_an_environment_no_file_can_carry_is_refused_before_anything_changes(deploy, bad, says):
    # No virtualenv of an earlier test is put there first: the root must not exist at all after.
    app = deploy("gunicorn", reuse_venv=False)

    run = app.run(wsgi_deploy_env=bad)

    assert run.returncode != 0 and says in failure_of(run)
    assert SECRET not in everything_printed(run)
    assert not os.path.exists(app.root)


STATIC = ["python", "-c", "import os, pathlib; pathlib.Path('staticfiles/app.css').write_text(os.environ['GREETING'])"]
MIGRATION = ["python", "-c", "import sys; print('Applying polls.0002_choice...'); sys.exit('no such table: polls_choice')"]


def test_release_commands_run_in_each_new_release_as_the_app_user_and_a_failing_one_stops_before_the_switch(
        app_user_deploy):
    app = app_user_deploy("gunicorn")
    setup = dict(AS_APP_USER, wsgi_deploy_env={"GREETING": "collected"}, wsgi_deploy_release_commands=[STATIC],
                 wsgi_deploy_release_writable_dirs=["staticfiles"])

    # The first deploy starts the server: the commands run all the same, before it serves.
    app.run(check=True, **setup)
    css = os.path.join(app.root, "current", "staticfiles", "app.css")
    with open(css) as handle:
        assert handle.read() == "collected"
    # What the commands wrote is the deploying user's once they ran: nothing live is the app user's,
    # and, like the code, it is readable by the app's group alone.
    app_gid = int(subprocess.run(["id", "-g", APP_USER], capture_output=True, text=True, check=True).stdout)
    for path in (css, os.path.dirname(css)):
        info = os.stat(path)
        assert info.st_uid == 0 and info.st_gid == app_gid and not info.st_mode & 0o027, path
    assert os.stat(os.path.join(app.root, "current", "main.py")).st_uid == 0

    # What the commands wrote is no part of the source: the same source is no change.
    again = app.run(check=True, **setup)
    assert result_of(again)["reloaded"] is False and len(releases(app)) == 1

    set_version(app, "2")
    failed = app.run(**dict(setup, wsgi_deploy_release_commands=[STATIC, MIGRATION]))

    message = failure_of(failed)
    assert failed.returncode != 0
    assert "a release command failed" in message and "no such table: polls_choice" in message
    assert "stopped before the new release went live" in message
    # The task that ran them says so: migrations may take minutes, and the user sees what runs.
    assert 'at "Release | Run the release commands in the new release' in message
    assert get(app.port) == "hello v1" and len(releases(app)) == 1


def test_an_import_failure_is_quoted_by_its_exception_line(deploy):
    app = deploy("gunicorn")
    app.run(check=True)
    with open(os.path.join(app.src, "main.py"), "a") as handle:
        handle.write("\nimport os\nDATABASE = os.environ['DATABASE_URL']\n")

    run = app.run()

    assert run.returncode != 0
    assert "KeyError: 'DATABASE_URL'" in failure_of(run).splitlines()[0]
    assert get(app.port) == "hello v1"


def test_a_link_that_a_release_command_leaves_in_its_directory_is_refused_before_the_switch(app_user_deploy):
    app = app_user_deploy("gunicorn")
    app.run(check=True, **AS_APP_USER)
    # A file of the app's user, which root must not take over through a link.
    target = os.path.join(app.root, "log", "mine.txt")
    with open(target, "w") as handle:
        handle.write("the app's\n")
    app_uid = int(subprocess.run(["id", "-u", APP_USER], capture_output=True, text=True, check=True).stdout)
    os.chown(target, app_uid, -1)
    link = ["python", "-c", "import os, sys; os.symlink(sys.argv[1], 'staticfiles/mine.txt')", target]

    set_version(app, "2")
    run = app.run(wsgi_deploy_release_commands=[link], wsgi_deploy_release_writable_dirs=["staticfiles"], **AS_APP_USER)

    message = failure_of(run)
    assert run.returncode != 0 and "staticfiles/mine.txt, which a release command left" in message
    assert "stopped before the new release went live" in message
    assert os.stat(target).st_uid == app_uid and get(app.port) == "hello v1"


PAYMENTS_URL = "https://payments.example/v1/charge?key=%s" % SECRET
# The app's health check fails with an error that names part of its setting, as requests' error
# names the host and the path it could not reach: it says so in its answer and in its log.
FAILING_HEALTH = '''

import os as _os
import urllib.parse as _parse


@app.route("/payments-health")
def payments_health():
    url = _parse.urlsplit(_os.environ["PAYMENTS_URL"])
    problem = "HTTPSConnectionPool(host=%r, port=443): Max retries exceeded with url: %s?%s" % (
        url.hostname, url.path, url.query)
    app.logger.error(problem)
    return problem, 500
'''


def test_a_failed_first_deploy_prints_no_value_of_the_environment(deploy):
    app = deploy("gunicorn")
    env = {"PAYMENTS_URL": PAYMENTS_URL}
    with open(os.path.join(app.src, "main.py"), "a") as handle:
        handle.write(FAILING_HEALTH)

    run = app.run("-vvv", wsgi_deploy_env=env, wsgi_deploy_healthcheck_path="/payments-health")

    assert run.returncode != 0
    # The failure quotes what the app said, each part of its setting masked.
    assert "Max retries exceeded with url: /v1/charge?key=********" in everything_printed(run)
    assert SECRET not in everything_printed(run)
