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

