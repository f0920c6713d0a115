"""Shared paths outlive releases: linked into each one, never synced over (bad ones: test_bad_input)."""
import os
import stat

from helpers import get, set_version

SHARED = {"wsgi_deploy_shared_dirs": ["uploads", "var/cache/"], "wsgi_deploy_shared_files": [".env"]}


def test_shared_paths_are_linked_into_every_release_and_keep_their_content(deploy):
    app = deploy("gunicorn")
    # A directory of the same name in the source is not what goes live.
    os.makedirs(os.path.join(app.src, "uploads"))
    with open(os.path.join(app.src, "uploads", "from-source.txt"), "w") as handle:
        handle.write("source\n")
    app.run(check=True, **SHARED)
    shared = os.path.join(app.root, "shared")
    with open(os.path.join(app.root, "current", "uploads", "user.png"), "w") as handle:
        handle.write("uploaded\n")
    with open(os.path.join(app.root, "current", ".env"), "w") as handle:
        handle.write("SECRET=1\n")

    set_version(app, "2")
    app.run(check=True, **SHARED)

    release = os.path.realpath(os.path.join(app.root, "current"))
    for path in ("uploads", "var/cache", ".env"):
        assert os.readlink(os.path.join(release, path)) == os.path.join(shared, path)
    assert os.listdir(os.path.join(shared, "uploads")) == ["user.png"]
    assert open(os.path.join(shared, ".env")).read() == "SECRET=1\n"
    assert stat.S_IMODE(os.stat(os.path.join(shared, ".env")).st_mode) == 0o640
    assert get(app.port) == "hello v2"



def test_shared_files_alone_need_no_shared_directory(deploy):
    app = deploy("gunicorn")

    app.run(check=True, wsgi_deploy_shared_files=["conf/local.env"])

    release = os.path.realpath(os.path.join(app.root, "current"))
    assert os.readlink(os.path.join(release, "conf", "local.env")) == os.path.join(app.root, "shared", "conf", "local.env")
    assert os.path.isfile(os.path.join(app.root, "shared", "conf", "local.env"))
    assert get(app.port) == "hello v1"


def test_the_app_user_cannot_swap_a_shared_directory_for_a_link_that_root_follows(deploy, tmp_path):
    app = deploy("gunicorn")
    app.run(check=True, **SHARED)
    shared = os.path.join(app.root, "shared")
    # shared/ and the parents of the shared paths are the deploying user's, not the app's.
    for path in (shared, os.path.join(shared, "var")):
        info = os.lstat(path)
        assert info.st_uid == os.geteuid() and not info.st_mode & 0o022, path

    # What the app's user could do where it owns the shared directory itself: put a link in its
    # place, to a directory of someone else's, before a deploy that prepares the host again.
    elsewhere = tmp_path / "someone-elses"
    elsewhere.mkdir()
    os.chown(elsewhere, 12345, 12345)
    uploads = os.path.join(shared, "uploads")
    os.rename(uploads, uploads + ".moved")
    os.symlink(str(elsewhere), uploads)
    os.remove(os.path.join(app.root, ".wsgi-deploy-live.json"))  # Prepare runs again

    run = app.run(**SHARED)

    assert os.stat(elsewhere).st_uid == 12345, "root followed the link and chowned its target"
    assert run.returncode != 0 and "%s is a link, where the app's directory must be: nothing was followed" % uploads in run.stdout, \
        run.stdout[-3000:]
