"""Each fault case, for each server it concerns: what the users saw (failed requests) and what was left live."""
import json

import pytest

SERVERS = ["gunicorn", "uwsgi"]
NEW_MASTER = {"gunicorn": "usr2", "uwsgi": "full"}


def seen(host, server, case):
    path = "/var/lib/wsgi-deploy-test/faults-%s-%s.json" % (server, case)
    return json.loads(host.file(path).content_string)


@pytest.mark.parametrize("server", SERVERS)
def test_a_stopped_server_is_started_by_the_deploy(host, server):
    case = seen(host, server, "stopped")
    assert case["failure"] == ""
    assert case["result"]["started"] is True and case["result"]["method"] == "start"
    assert case["body_after"] == "hello v2"
    assert case["load"]["ok"] > 0
    # Requests fail while the server is down, before the deploy; none after it.
    assert case["load"]["last_failed_at"] is None or case["load"]["last_failed_at"] < case["deploy_ended_at"]


@pytest.mark.parametrize("server", SERVERS)
def test_a_release_that_adds_a_dependency_runs_with_it(host, server):
    case = seen(host, server, "dependency")
    assert case["failure"] == ""
    assert case["result"]["method"] == NEW_MASTER[server]
    assert case["body_after"] == "hello v4 with six 1.17.0"
    assert case["load"]["failed"] == 0, case["load"]


@pytest.mark.parametrize("server, name", [("gunicorn", "fg"), ("uwsgi", "fu")])
def test_the_service_runs_after_every_case_and_systemd_tracks_its_master(host, server, name):
    service = host.service("wsgi-%s.service" % name)
    assert service.is_running
    master = int(host.file("/srv/%s/run/server.pid" % name).content_string.strip())
    main_pid = int(host.check_output("systemctl show --property=MainPID --value wsgi-%s.service" % name))
    assert main_pid == master


def test_a_gunicorn_of_the_apps_user_named_in_the_pidfile_is_refused_and_not_signalled(host):
    # Its user and its command line are the app's master's: only systemd's cgroup tells them apart.
    case = seen(host, "gunicorn", "forged_master")
    assert "outside the cgroup of wsgi-fg.service" in case["failure"], case["failure"]
    assert "not signalled" in case["failure"] and "Nothing was changed" in case["failure"]
    assert case["extra"]["forged_workers_after"] == case["extra"]["forged_workers_before"]
    assert case["extra"]["master_alive"] is True
    assert case["load"]["failed"] == 0, case["load"]
    assert case["body_after"] == "hello v4 with six 1.17.0"


def test_a_link_the_apps_user_leaves_in_a_shared_directory_is_not_followed_by_root(host):
    case = seen(host, "gunicorn", "shared_link")
    assert case["extra"]["swap_refused"] is True and "Permission denied" in case["extra"]["swap_said"]
    assert case["failure"] == ""
    assert case["result"]["release"], "the deploy prepared the host again and made a release"
    assert case["extra"]["target_owner"] == "root" and case["extra"]["target_mode"] == "0755"
    assert case["load"]["failed"] == 0, case["load"]
    assert case["body_after"] == "hello v2"


def test_a_log_the_apps_user_swapped_for_a_link_is_refused_and_not_read(host):
    case = seen(host, "uwsgi", "log_link")
    assert "/log/server.log is a symlink, which is never followed" in case["failure"], case["failure"]
    assert "Nothing was changed" in case["failure"]
    assert case["extra"]["secret"] not in case["failure"] + json.dumps(case["result"]), "root read the file"
    assert case["load"]["failed"] == 0, case["load"]
    assert case["body_after"] == "hello v4 with six 1.17.0", "the release that added a dependency stays live"


def test_a_master_fifo_the_apps_user_swapped_for_a_link_is_refused_and_its_target_kept(host):
    case = seen(host, "uwsgi", "fifo_link")
    assert "/run/master.fifo is not a FIFO: root writes nothing to it" in case["failure"], case["failure"]
    assert "Nothing was changed" in case["failure"]
    assert case["extra"]["target_content"] == "root's own content\n"
    assert case["load"]["failed"] == 0, case["load"]
    assert case["body_after"] == "hello v4 with six 1.17.0"


def test_a_changed_unit_whose_release_fails_is_put_back_and_the_earlier_release_serves(host):
    case = seen(host, "gunicorn", "unit_failed")
    assert "health check" in case["failure"], case["failure"]
    assert case["extra"]["timeout_after"] == case["extra"]["timeout_before"], case["extra"]
    assert case["extra"]["active"] == "active"
    # The same code as the live release: only the unit changed, and that went back.
    assert case["body_after"] == "hello v2"


def test_a_rollback_by_hand_puts_back_the_unit_its_release_went_live_with(host):
    case = seen(host, "gunicorn", "unit_by_hand")
    assert case["failure"] == "", case["failure"]
    extra = case["extra"]
    # TimeoutStopSec is the longest request's 40 s, plus the role's margins, once the new unit went live.
    assert extra["timeout_went_live"] != extra["timeout_before"], extra
    assert extra["timeout_after"] == extra["timeout_before"] and extra["active"] == "active", extra
    # Back to the release before the live one, which added a dependency, with the unit it went live with.
    assert case["body_after"] == "hello v4 with six 1.17.0"
