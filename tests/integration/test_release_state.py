"""The releases on the server: what is live, the record of the live deploy, the lock, pruning."""
import json
import os
import subprocess

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import app_files, releases
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import processes as procs
from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_log


def make_release(root, name, venv="v1", key="k1", files=None):
    path = os.path.join(root, "releases", name)
    os.makedirs(path)
    for rel, text in (files or {"main.py": "print(1)\n"}).items():
        with open(os.path.join(path, rel), "w") as handle:
            handle.write(text)
    for marker, value in ((releases.VENV_MARKER, venv), (releases.RELEASE_MARKER, key)):
        with open(os.path.join(path, marker), "w") as handle:
            handle.write(value + "\n")
    return path


def make_venv(root, name, complete=True):
    path = os.path.join(root, "venvs", name)
    os.makedirs(os.path.join(path, "bin"))
    if complete:
        with open(os.path.join(path, releases.VENV_COMPLETE), "w") as handle:
            handle.write(name + "\n")
    return path


@pytest.fixture
def root(tmp_path):
    root = str(tmp_path / "app")
    make_release(root, "20260101T000000000000Z", venv="v1", key="k1")
    make_venv(root, "v1")
    os.symlink("releases/20260101T000000000000Z", os.path.join(root, "current"))
    os.symlink("venvs/v1", os.path.join(root, "venv"))
    os.makedirs(os.path.join(root, "etc"))
    with open(os.path.join(root, "etc", "gunicorn.conf.py"), "w") as handle:
        handle.write("workers = 2\n")
    return root


def config(root):
    path = os.path.join(root, "etc", "gunicorn.conf.py")
    return path, app_files.sha256(path)


def test_a_recorded_deploy_is_unchanged_while_everything_it_made_is_still_live(root):
    path, sha = config(root)
    assert releases.record(root, "D1", "v1", {path: sha}) is True
    seen = releases.inspect(root, "D1", "v1", {path: sha})
    assert seen["unchanged"] is True and seen["reasons"] == []
    assert seen["live"] == {"release": "20260101T000000000000Z", "release_key": "k1", "venv": "v1"}
    assert seen["venv_ready"] is True and seen["files_matching"] == [path]
    assert releases.record(root, "D1", "v1", {path: sha}) is False, "the same record again changes nothing"


@pytest.mark.parametrize("change,reason", [
    ("digest", "the inputs differ"),
    ("config", "differs from what these inputs make"),
    ("current", "current no longer points at the recorded release"),
    ("venv", "the virtualenv differs"),
    ("record", "no deploy recorded as live"),
])
def test_anything_changed_since_the_record_is_named(root, change, reason):
    path, sha = config(root)
    releases.record(root, "D1", "v1", {path: sha})
    digest = "D1"
    if change == "digest":
        digest = "D2"
    elif change == "config":
        with open(path, "a") as handle:
            handle.write("# edited by hand\n")
    elif change == "current":
        make_release(root, "20260102T000000000000Z")
        releases.switch(root, release="20260102T000000000000Z")
    elif change == "venv":
        make_venv(root, "v2")
        releases.switch(root, venv="v2")
    else:
        os.unlink(os.path.join(root, releases.RECORD))
    seen = releases.inspect(root, digest, "v1", {path: sha})
    assert seen["unchanged"] is False
    assert any(reason in text for text in seen["reasons"]), seen["reasons"]


def test_a_record_that_is_a_symlink_is_never_followed_nor_trusted(root, tmp_path):
    path, sha = config(root)
    forged = tmp_path / "forged.json"
    forged.write_text(json.dumps({"digest": "D1", "release": "20260101T000000000000Z", "venv": "v1",
                                  "files": {path: sha}}))
    os.symlink(str(forged), os.path.join(root, releases.RECORD))
    seen = releases.inspect(root, "D1", "v1", {path: sha})
    assert seen["unchanged"] is False and seen["record"] == {}
    assert "is a symlink, which is never followed" in seen["reasons"][0]
    releases.record(root, "D1", "v1", {path: sha})
    assert not os.path.islink(os.path.join(root, releases.RECORD)), "the record replaced the link"
    assert json.loads(forged.read_text())["digest"] == "D1" and "prepared" not in forged.read_text()


def test_a_fifo_in_place_of_a_marker_is_not_opened_for_reading(root):
    marker = os.path.join(root, "releases", "20260101T000000000000Z", releases.RELEASE_MARKER)
    os.unlink(marker)
    os.mkfifo(marker)
    assert releases.live(root)["release_key"] == "", "a FIFO would have blocked the read"


def test_the_lock_is_taken_once_and_names_its_holder(tmp_path):
    lock = str(tmp_path / ".deploy.lock")
    me = {"controller": "ctl", "pid": 100}
    assert releases.take_lock(lock, me)["taken"] is True
    other = releases.take_lock(lock, {"controller": "ctl", "pid": 200}, controller_pids=[100])
    assert other["taken"] is False and other["holder"]["pid"] == 100
    assert releases.drop_lock(lock) is True and not os.path.exists(lock)


VIEW = "pidns:4026531836"


def test_a_lock_left_by_a_gone_deploy_from_this_controller_is_broken(tmp_path):
    lock = str(tmp_path / ".deploy.lock")
    releases.take_lock(lock, {"controller": "ctl", "pid": 100, "pid_view": VIEW})
    taken = releases.take_lock(lock, {"controller": "ctl", "pid": 200, "pid_view": VIEW}, controller_pids=[200, 300])
    assert taken["taken"] is True and taken["broke"]["pid"] == 100
    assert json.load(open(os.path.join(lock, "owner")))["pid"] == 200


@pytest.mark.parametrize("holder_view, own_view", [
    # The holder ran in another PID namespace (a container, unshare --pid): its PID means nothing here.
    ("pidns:4026532999", VIEW),
    # This run cannot see every process (/proc with hidepid, not root): not seeing it proves nothing.
    (VIEW + ":partial", VIEW + ":partial"),
    # A lock from before the view was recorded.
    (None, VIEW),
])
def test_a_holder_not_proven_gone_is_waited_for(tmp_path, holder_view, own_view):
    lock = str(tmp_path / ".deploy.lock")
    releases.take_lock(lock, {"controller": "ctl", "pid": 100, "pid_view": holder_view})
    taken = releases.take_lock(lock, {"controller": "ctl", "pid": 200, "pid_view": own_view}, controller_pids=[200])
    assert taken["taken"] is False and taken["holder"]["pid"] == 100


def test_a_lock_held_from_another_controller_is_waited_for_then_left_alone(tmp_path):
    lock = str(tmp_path / ".deploy.lock")
    releases.take_lock(lock, {"controller": "elsewhere", "pid": 100})
    slept = []
    taken = releases.take_lock(lock, {"controller": "ctl", "pid": 200}, controller_pids=[200], timeout=3,
                               clock=lambda: sum(slept), sleep=slept.append)
    assert taken["taken"] is False and taken["holder"]["controller"] == "elsewhere"
    assert 3 <= sum(slept) < 3 + 2 * releases.LOCK_POLL_SECONDS, "it waited until the timeout"
    assert json.load(open(os.path.join(lock, "owner")))["controller"] == "elsewhere"


def test_a_release_is_named_only_once_complete_with_its_markers_and_shared_links(root):
    partial = os.path.join(root, "releases", "20260102T000000000000Z" + releases.PARTIAL)
    os.makedirs(os.path.join(partial, "uploads"))
    releases.build(root, "20260102T000000000000Z", "k2", "v2", ["uploads", "conf/.env"])
    final = os.path.join(root, "releases", "20260102T000000000000Z")
    assert not os.path.exists(partial) and os.path.isdir(final)
    assert os.readlink(os.path.join(final, "uploads")) == os.path.join(root, "shared", "uploads")
    assert os.readlink(os.path.join(final, "conf", ".env")) == os.path.join(root, "shared", "conf", ".env")
    assert open(os.path.join(final, releases.RELEASE_MARKER)).read() == "k2\n"
    with pytest.raises(releases.ReleaseError):
        os.makedirs(partial)
        releases.build(root, "20260102T000000000000Z", "k2", "v2", [])


def test_a_release_keeps_the_config_it_goes_live_with_and_a_rollback_to_it_puts_that_back(root, tmp_path):
    config = os.path.join(root, "etc", "gunicorn.conf.py")
    unit = str(tmp_path / "shop.service")
    with open(unit, "w") as handle:
        handle.write("[Service]\nExecStart=/srv/shop/venv/bin/gunicorn\n")
    name = "20260102T000000000000Z"
    os.makedirs(os.path.join(root, "releases", name + releases.PARTIAL))
    releases.build(root, name, "k2", "v2", [], config=releases.read_config([config, unit, str(tmp_path / "none")]))
    with open(config, "w") as handle:
        handle.write("workers = 9\n")
    os.unlink(unit)
    # Only the files the role manages are put back: the kept record names no other path.
    assert releases.restore_config(root, name, [config], check_mode=True) == [config]
    assert open(config).read() == "workers = 9\n"
    assert releases.restore_config(root, name, [config, unit]) == [config, unit]
    assert open(config).read() == "workers = 2\n" and open(unit).read().startswith("[Service]")
    assert releases.restore_config(root, name, [config, unit]) == []
    # A release made before releases kept their config puts nothing back.
    assert releases.restore_config(root, "20260101T000000000000Z", [config]) == []


def test_a_release_keeps_its_record_and_a_rollback_to_it_makes_that_the_live_record_again(root):
    config = os.path.join(root, "etc", "gunicorn.conf.py")
    first = "20260101T000000000000Z"
    assert releases.record(root, "digest-1", "v1", [config], prepared="p1", release=first) is True
    recorded = releases.read_record(root)
    # A second release goes live, with its own record.
    second = "20260102T000000000000Z"
    make_release(root, second, venv="v1", key="k2")
    releases.switch(root, second)
    releases.record(root, "digest-2", "v1", [config], prepared="p1", release=second)
    assert releases.read_record(root)["digest"] == "digest-2"

    # Back to the first: its record, as it was, is the live record again.
    releases.switch(root, first)
    os.unlink(os.path.join(root, releases.RECORD))
    assert releases.restore_record(root) is True
    assert releases.read_record(root) == recorded
    assert releases.inspect(root, "digest-1", "v1", {config: app_files.sha256(config)})["unchanged"] is True


def test_a_release_with_no_record_of_its_own_restores_none(root):
    assert releases.restore_record(root) is False
    assert not os.path.exists(os.path.join(root, releases.RECORD))


def test_a_kept_config_that_is_a_link_is_refused_and_nothing_is_written(root, tmp_path):
    config = os.path.join(root, "etc", "gunicorn.conf.py")
    elsewhere = tmp_path / "elsewhere.json"
    elsewhere.write_text(json.dumps({config: "workers = 99\n"}))
    os.symlink(str(elsewhere), os.path.join(root, "releases", "20260101T000000000000Z", releases.CONFIG_KEPT))
    with pytest.raises(releases.ReleaseError, match="symlink"):
        releases.restore_config(root, "20260101T000000000000Z", [config])
    assert open(config).read() == "workers = 2\n"


def test_switch_replaces_links_and_refuses_a_directory_in_their_place(root):
    make_venv(root, "v2")
    make_release(root, "20260102T000000000000Z")
    assert releases.switch(root, "20260102T000000000000Z", "v2") == ["venv", "current"]
    assert releases.switch(root, "20260102T000000000000Z", "v2") == []
    with pytest.raises(releases.ReleaseError):
        releases.switch(root, "20260109T000000000000Z")
    os.unlink(os.path.join(root, "venv"))
    os.makedirs(os.path.join(root, "venv"))
    with pytest.raises(releases.ReleaseError):
        releases.switch(root, venv="v1")


def test_prune_keeps_the_newest_the_live_one_and_the_virtualenvs_they_need(root):
    for day, venv in (("02", "v2"), ("03", "v3"), ("04", "v3")):
        make_release(root, "202601%sT000000000000Z" % day, venv=venv)
    make_venv(root, "v2")
    make_venv(root, "v3")
    make_venv(root, "v9")
    os.makedirs(os.path.join(root, "releases", "20260105T000000000000Z.partial"))
    plan = releases.prune(root, keep=2)
    left = sorted(os.listdir(os.path.join(root, "releases")))
    assert left == ["20260101T000000000000Z", "20260103T000000000000Z", "20260104T000000000000Z"], \
        "the live (oldest) release stays beside the newest two; the partial one goes"
    assert sorted(os.listdir(os.path.join(root, "venvs"))) == ["v1", "v3"]
    assert len(plan["releases"]) == 2 and len(plan["venvs"]) == 2


def test_a_shared_path_under_a_symlink_of_the_source_is_refused_and_nothing_outside_is_touched(root, tmp_path):
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "uploads").mkdir(parents=True)
    (elsewhere / "uploads" / "kept.jpg").write_text("photo")
    partial = os.path.join(root, "releases", "20260102T000000000000Z" + releases.PARTIAL)
    os.makedirs(partial)
    os.symlink(str(elsewhere), os.path.join(partial, "static"))
    with pytest.raises(releases.ReleaseError) as refused:
        releases.build(root, "20260102T000000000000Z", "k2", "v1", ["static/uploads"])
    assert "static in the source is a symlink" in refused.value.msg
    assert (elsewhere / "uploads" / "kept.jpg").read_text() == "photo"
    assert not os.path.lexists(os.path.join(partial, releases.RELEASE_MARKER)), "refused before any change"


def test_a_record_is_refused_when_something_else_went_live_meanwhile(root):
    path, sha = config(root)
    make_release(root, "20260102T000000000000Z")
    releases.switch(root, release="20260102T000000000000Z")
    with pytest.raises(releases.ReleaseError) as refused:
        releases.record(root, "D2", "v1", {path: sha}, release="20260101T000000000000Z")
    assert "the live release changed while this deploy ran" in refused.value.msg
    assert releases.read_record(root) == {}


def test_what_is_live_is_vouched_for_only_while_it_is_what_the_record_says(root):
    path, sha = config(root)
    releases.record(root, "D1", "v1", {path: sha})
    assert releases.inspect(root, "D2", "v1", {path: sha})["vouched"] is True, "other inputs, same live state"
    make_release(root, "20260102T000000000000Z")
    releases.switch(root, release="20260102T000000000000Z")  # a deploy cut off before its reload
    seen = releases.inspect(root, "D2", "v1", {path: sha})
    assert seen["vouched"] is False and seen["unchanged"] is False


def test_only_a_release_marked_while_live_counts_as_gone_live(root, tmp_path):
    first, second = "20260101T000000000000Z", "20260102T000000000000Z"
    assert releases.mark_went_live(root, first) is True
    assert releases.mark_went_live(root, first) is False, "marked once"
    make_release(root, second)
    with pytest.raises(releases.ReleaseError):
        releases.mark_went_live(root, second)  # not the live one
    os.makedirs(os.path.join(root, "releases", "20260103T000000000000Z.partial"))
    seen = releases.inspect(root)
    assert seen["releases"] == [first, second] and seen["went_live"] == [first]
    # A marker that is a symlink (to any file) is not the role's: not trusted.
    os.symlink(str(tmp_path), os.path.join(root, "releases", second, releases.WENT_LIVE_MARKER))
    assert releases.went_live_releases(root) == [first]


def test_the_log_tail_is_read_from_a_regular_file_only(tmp_path):
    log = tmp_path / "server.log"
    log.write_text("".join("line %d\n" % n for n in range(100)))
    assert server_log.tail(str(log), lines=2) == ["line 98", "line 99"]
    secret = tmp_path / "secret"
    secret.write_text("root:hash\n")
    os.unlink(str(log))
    os.symlink(str(secret), str(log))
    assert server_log.tail(str(log)) == [], "a symlink is never followed"
    os.unlink(str(log))
    os.mkfifo(str(log))
    assert server_log.tail(str(log)) == [], "a FIFO is not read (it would block)"


def test_a_check_runs_as_the_given_user_in_a_session_of_its_own_and_is_cut_off_when_too_long(tmp_path):
    import pwd
    nobody = pwd.getpwnam("nobody")
    script = "import os; print(os.getuid(), os.getgid(), os.getsid(0) == os.getpid(), os.getgroups())"
    code, tail = procs.run_as(["python3", "-c", script], nobody, "/", timeout=60)
    assert code == 0
    uid, gid, own_session, groups = tail[-1].split(" ", 3)
    assert (int(uid), int(gid), own_session) == (nobody.pw_uid, nobody.pw_gid, "True")
    assert "0," not in groups and "[0]" not in groups, "none of root's groups kept"
    code, tail = procs.run_as(["sh", "-c", "echo started; sleep 60 & sleep 60"], nobody, "/", timeout=1)
    assert code is None and tail == ["started"]


SWAPPER = r"""
/* The app's user's side of the race: each time the lock directory appears, exchange it with a link
   to a directory only root may write, and move what was the lock aside. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/fs.h>
int main(int argc, char **argv) {
    char aside[64];
    for (long n = 0;; n++) {
        symlink(argv[1], "bait");
        if (syscall(SYS_renameat2, AT_FDCWD, "lock", AT_FDCWD, "bait", RENAME_EXCHANGE) == 0) {
            snprintf(aside, sizeof aside, "aside-%ld", n);
            rename("bait", aside);
        }
    }
}
"""


def test_a_lock_swapped_for_a_link_the_moment_it_is_made_gets_nothing_written_through_it(tmp_path):
    # Beside a directory set up by hand, the lock's parent may be the app's user's (here nobody's).
    parent = tmp_path / "apps"
    parent.mkdir()
    os.chown(parent, 65534, 65534)
    root_only = tmp_path / "root-only"
    root_only.mkdir(mode=0o700)
    source = tmp_path / "swapper.c"
    source.write_text(SWAPPER)
    subprocess.run(["gcc", "-O2", "-o", str(tmp_path / "swapper"), str(source)], check=True)
    os.chmod(tmp_path, 0o755)
    swapper = subprocess.Popen(["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
                                str(tmp_path / "swapper"), str(root_only)], cwd=str(parent))
    lock, refused, taken = str(parent / "lock"), 0, 0
    try:
        for attempt in range(20000):
            result = releases.take_lock(lock, {"controller": "ctl", "pid": 100})
            if result["taken"]:
                taken += 1
            else:
                assert "was replaced right after it was made, by a user who can write" in result["error"]
                refused += 1
            releases.drop_lock(lock)
            assert os.listdir(root_only) == [], "root wrote through the app's user's link"
            if refused >= 5:
                break
    finally:
        swapper.kill()
        swapper.wait()
    # The race was won by the app's user, again and again, and each time refused; between its wins
    # the lock was taken as usual.
    assert refused >= 5 and taken > 0, (refused, taken)
