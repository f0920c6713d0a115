"""layout.ensure: the app's directories and shared paths made or put right in one call, and a
link where a directory must be refused, never followed (as root, in a temporary directory)."""
import os
import pwd
import stat

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import layout

NOBODY = pwd.getpwnam("nobody").pw_uid


def entries():
    return [
        {"path": "", "kind": "directory", "owner": "root", "mode": 0o755},
        {"path": "releases", "kind": "directory", "owner": "root", "group": "nogroup", "mode": 0o750},
        {"path": "log", "kind": "directory", "owner": "nobody", "group": "nogroup", "mode": 0o750},
        {"path": "shared", "kind": "directory", "owner": "root", "mode": 0o755},
        {"path": "shared/media", "kind": "directory", "owner": "root", "mode": 0o755},
        {"path": "shared/media/uploads", "kind": "directory", "owner": "nobody", "group": "nogroup", "mode": 0o750},
        {"path": "shared/.env", "kind": "file", "owner": "nobody", "group": "nogroup", "mode": 0o640},
    ]


def mode_and_owner(path):
    info = os.lstat(path)
    return stat.S_IMODE(info.st_mode), info.st_uid


def test_a_new_root_and_everything_in_it_is_made_with_its_owner_and_mode(tmp_path):
    root = tmp_path / "srv" / "app"
    done = layout.ensure(str(root), entries())
    assert done["made"][0] == str(tmp_path / "srv") and str(root / "shared/.env") in done["made"]
    assert done["fixed"] == []
    assert mode_and_owner(root / "releases") == (0o750, 0)
    assert os.lstat(root / "releases").st_gid == os.lstat(root / "log").st_gid != 0
    assert mode_and_owner(root / "shared/media/uploads") == (0o750, NOBODY)
    assert mode_and_owner(root / "shared/.env") == (0o640, NOBODY)
    # Once made, nothing more to do.
    assert layout.ensure(str(root), entries()) == {"made": [], "fixed": []}


def test_a_wrong_owner_or_mode_is_put_right_and_an_existing_file_is_left_alone(tmp_path):
    root = tmp_path / "app"
    layout.ensure(str(root), entries())
    os.chmod(root / "log", 0o777)
    os.chown(root / "releases", NOBODY, -1)
    (root / "shared/.env").write_text("SECRET=1\n")
    os.chmod(root / "shared/.env", 0o600)
    done = layout.ensure(str(root), entries())
    assert sorted(done["fixed"]) == [str(root / "log"), str(root / "releases")] and done["made"] == []
    assert mode_and_owner(root / "log") == (0o750, NOBODY) and mode_and_owner(root / "releases") == (0o750, 0)
    assert (root / "shared/.env").read_text() == "SECRET=1\n" and mode_and_owner(root / "shared/.env")[0] == 0o600


@pytest.mark.parametrize("swapped", ["shared/media", "shared/media/uploads", "log"])
def test_a_link_where_a_directory_must_be_is_refused_and_not_followed(tmp_path, swapped):
    root = tmp_path / "app"
    layout.ensure(str(root), entries())
    target = tmp_path / "roots-own"
    target.mkdir(mode=0o700)
    os.rmdir(root / "shared/media/uploads")
    if swapped != "shared/media/uploads":
        os.rmdir(root / swapped)
    os.symlink(target, root / swapped)
    with pytest.raises(layout.LayoutError) as refused:
        layout.ensure(str(root), entries())
    message = refused.value.msg
    assert str(root / swapped) in message and ("never followed" in message or "nothing was followed" in message)
    assert mode_and_owner(target) == (0o700, 0) and os.listdir(target) == []


def test_a_link_in_place_of_a_shared_file_is_left_as_it_is_and_not_written_through(tmp_path):
    root = tmp_path / "app"
    layout.ensure(str(root), entries()[:4])
    secret = tmp_path / "secret"
    secret.write_text("root's\n")
    os.chmod(secret, 0o600)
    os.symlink(secret, root / "shared/.env")
    layout.ensure(str(root), [entries()[3], entries()[6]])
    assert mode_and_owner(secret) == (0o600, 0) and secret.read_text() == "root's\n"


def test_check_mode_reports_what_it_would_make_and_makes_nothing(tmp_path):
    root = tmp_path / "app"
    done = layout.ensure(str(root), entries(), check_mode=True)
    assert str(root) in done["made"] and str(root / "shared/media/uploads") in done["made"]
    assert not os.path.exists(root)
    layout.ensure(str(root), entries())
    os.chmod(root / "log", 0o700)
    assert layout.ensure(str(root), entries(), check_mode=True) == {"made": [], "fixed": [str(root / "log")]}
    assert mode_and_owner(root / "log")[0] == 0o700


def test_check_mode_for_a_user_not_made_yet_reports_and_a_real_run_says_who_is_missing(tmp_path):
    missing = dict(entries()[2], owner="wsgi-no-such-user")
    assert layout.ensure(str(tmp_path / "app"), [entries()[0], missing], check_mode=True)["made"]
    with pytest.raises(layout.LayoutError) as refused:
        layout.ensure(str(tmp_path / "app"), [entries()[0], missing])
    assert "wsgi-no-such-user" in refused.value.msg


def test_a_root_that_is_the_operators_link_to_a_directory_is_followed(tmp_path):
    (tmp_path / "data").mkdir()
    os.symlink(tmp_path / "data", tmp_path / "app")
    layout.ensure(str(tmp_path / "app"), entries())
    assert os.path.islink(tmp_path / "app") and mode_and_owner(tmp_path / "data" / "log") == (0o750, NOBODY)


def test_a_link_in_the_path_above_an_entry_is_not_walked_through(tmp_path):
    """The race's outcome: the link appears after its own entry was checked, before the walk to the
    entry below it. Nothing is made or changed through it."""
    root = tmp_path / "app"
    layout.ensure(str(root), entries()[:4])
    target = tmp_path / "roots-own"
    target.mkdir(mode=0o700)
    os.symlink(target, root / "shared/media")
    with pytest.raises(layout.LayoutError) as refused:
        layout.ensure(str(root), [entries()[5]])
    assert "%s is not a directory: a link there is never followed" % (root / "shared/media") in refused.value.msg
    assert os.listdir(target) == [] and mode_and_owner(target) == (0o700, 0)
