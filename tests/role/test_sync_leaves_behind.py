"""The sync leaves behind what git ignores in the source (a local database, a token in .env) and
every environment file not named to be shipped; what it left behind changes no deploy."""
import os
import subprocess

from helpers import get, releases, result_of

TOKEN = "ghp_9c1f0e2d7b6a5f4e3d2c1b0a"


def write(app, relpath, text):
    path = os.path.join(app.src, relpath)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as handle:
        handle.write(text)


def shipped(app):
    release = os.path.realpath(os.path.join(app.root, "current"))
    return {os.path.relpath(os.path.join(top, name), release)
            for top, _dirs, files in os.walk(release) for name in files}


def test_git_ignored_and_environment_files_stay_on_the_controller(deploy):
    app = deploy("gunicorn")
    subprocess.run(["git", "init", "-q", app.src], check=True)
    write(app, ".gitignore", "db.sqlite3\nmedia/\n.env\n")
    write(app, ".env", "GITHUB_TOKEN=%s\n" % TOKEN)
    write(app, "db.sqlite3", "local rows\n")
    write(app, "media/upload.png", "png\n")
    write(app, "config/prod.env", "DB_PASSWORD=hunter2\n")
    write(app, "config/defaults.env", "LOG_LEVEL=info\n")

    app.run(check=True, wsgi_deploy_ship_env_files=["config/defaults.env"],
            # A shared .env on the server: the one in the source is left behind, so no clash.
            wsgi_deploy_shared_files=[".env"])

    files = shipped(app)
    assert "main.py" in files and "config/defaults.env" in files and ".gitignore" in files
    assert not {"db.sqlite3", "media/upload.png", "config/prod.env"} & files
    with open(os.path.join(app.root, "shared", ".env")) as handle:
        assert TOKEN not in handle.read()
    assert get(app.port) == "hello v1"

    # What was left behind changes: nothing to deploy.
    write(app, "db.sqlite3", "more local rows\n")
    write(app, ".env", "GITHUB_TOKEN=rotated\n")
    again = app.run(check=True, wsgi_deploy_ship_env_files=["config/defaults.env"], wsgi_deploy_shared_files=[".env"])
    assert result_of(again)["reloaded"] is False and len(releases(app)) == 1


def test_git_ignored_files_are_shipped_when_asked_but_environment_files_never_unnamed(deploy):
    app = deploy("gunicorn")
    subprocess.run(["git", "init", "-q", app.src], check=True)
    write(app, ".gitignore", "db.sqlite3\n")
    write(app, "db.sqlite3", "seed rows\n")
    write(app, ".env", "GITHUB_TOKEN=%s\n" % TOKEN)

    app.run(check=True, wsgi_deploy_leave_gitignored=False)

    files = shipped(app)
    assert "db.sqlite3" in files and ".env" not in files
