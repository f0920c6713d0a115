"""A fleet deploy cut off while its first host is drained at haproxy, and the next deploy that puts
that host back, all under a load through the balancer (three hosts on this machine, tools/fleet.py).
In a file of its own: pytest's other process runs it beside test_fleet.py's longer tests."""
import os

from fleet import HOSTS, fleet_summary
from helpers import assert_no_request_failed, set_version, under_load

# A before-live hook, run just after the drain, that kills the whole fleet deploy (this file's
# path is on its command line and on no other's) while the first host is drained, as a lost
# controller would.
CUT_OFF = """- name: Go live | Cut the fleet deploy off while the first host is drained
  ansible.builtin.command:
    argv: [pkill, -KILL, -f, "{{ wsgi_deploy_before_live_tasks }}"]
  delegate_to: localhost
  changed_when: true
  when: inventory_hostname == ansible_play_hosts_all[0]
"""


def test_a_deploy_killed_while_a_host_is_drained_leaves_it_out_and_the_next_deploy_puts_it_back(make_fleet, tmp_path):
    fleet = make_fleet(balanced=True)
    assert fleet.run(wsgi_deploy_batches=["100%"]).returncode == 0
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()
    v1 = fleet.live("web1")
    hook = tmp_path / "cut_off_drained.yml"
    hook.write_text(CUT_OFF)
    set_version(fleet, "2")
    mark = os.path.join(fleet.hosts["web1"]["root"], ".drained")

    # A backend that haproxy does not know stops the deploy before anything changes on a host.
    wrong = fleet.run(wsgi_deploy_haproxy_backend="shop")
    assert wrong.returncode != 0 and "haproxy has no backend shop (its backends: app)" in wrong.stdout
    assert os.listdir(os.path.join(fleet.hosts["web1"]["root"], "releases")) == [v1] and not os.path.exists(mark)

    with under_load(fleet, fleet.haproxy.url) as load:
        killed = fleet.run(wsgi_deploy_drain="always", wsgi_deploy_before_live_tasks=str(hook))
        left = {"haproxy": fleet.haproxy.states(), "marked": os.path.exists(mark), "live": fleet.live("web1")}
        next_run = fleet.run(wsgi_deploy_batches=[1, "100%"])
    # haproxy sent every request to the hosts still in it, then to all three again.
    assert_no_request_failed(load)
    assert {"hello v1", "hello v2"} <= set(load.bodies), load.report()

    assert killed.returncode == -9
    # The first host stays out of the balancer, marked as drained, until a deploy puts it back.
    assert left["haproxy"]["web1"] == "MAINT" and left["marked"], left
    assert next_run.returncode == 0, next_run.stdout[-5000:]
    assert [fleet.serves(name) for name in HOSTS] == ["hello v2"] * 3
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()
    assert not any(os.path.exists(os.path.join(host["root"], ".drained")) for host in fleet.hosts.values())
    # The cut-off run had switched the first host to its release (the same code) before its
    # reload: the next run reloads that host onto it, and says that it keeps that release's id.
    cut_off, release = left["live"], fleet.live("web2")
    assert fleet.live("web1") == cut_off and cut_off not in (v1, release)
    assert fleet_summary(next_run) == [
        "release %s is live on web2, web3; its code was already live, under another release id, on web1" % release,
        "web1: runs release %s (its code was already live; reloaded onto it)" % cut_off,
        "web2: runs release %s (went live in this run)" % release,
        "web3: runs release %s (went live in this run)" % release,
    ]
