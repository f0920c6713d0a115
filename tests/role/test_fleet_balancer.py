"""A fleet of three hosts behind haproxy (Debian's package, a daemon with the test's own config and
admin socket), load running through haproxy: drained hosts, put back, never left out. The
restart that a drain is for needs systemd: the Molecule fleet scenario measures it."""
import os

from fleet import HOSTS, host_facts
from helpers import set_version
from httpload import Load

DRAIN_TASK = "Drain this host, waiting up to wsgi_deploy_drain_timeout for its requests in flight"


def cut_off_while_drained(tmp_path, fleet):
    """A before-live hook, run just after the drain, that kills the fleet's run on web1, as a lost
    controller would."""
    hook = tmp_path / "cut_off_drained.yml"
    hook.write_text(
        "- name: Go live | Cut the fleet deploy off while web1 is drained\n"
        "  ansible.builtin.command: pkill -KILL -f %s\n"
        "  delegate_to: localhost\n"
        "  changed_when: true\n"
        "  when: inventory_hostname == 'web1'\n" % fleet.inventory)
    return str(hook)


def test_a_drained_reload_fails_no_request_at_the_balancer_and_a_cut_off_drain_is_undone_by_the_next_deploy(
        make_fleet, tmp_path):
    fleet = make_fleet(balanced=True)
    fleet.haproxy.start()
    first = fleet.run()
    assert first.returncode == 0, first.stdout[-5000:]
    # A first start has nothing to drain, and a reload needs no drain unless asked for.
    assert fleet.haproxy.wait_all_up(), fleet.haproxy.states()

    set_version(fleet, "2")
    with Load(fleet.haproxy.url + "version", clients=4, max_seconds=300) as load:
        drained = fleet.run("-e", '{"wsgi_deploy_drain": "always"}')
    assert drained.returncode == 0, drained.stdout[-5000:]
    report = load.report()
    assert report["failed"] == 0 and report["ok"] > 0, report
    for name in HOSTS:
        # Out of the balancer, its connections done, before its reload; back in after its health check.
        assert [state["status"] for state in host_facts(drained, DRAIN_TASK, name)["state_after"]] == ["MAINT"]
        assert host_facts(drained, "Put this host back into the balancer", name)["state_after"][0]["status"].startswith("UP")
        assert not os.path.exists(os.path.join(fleet.hosts[name]["root"], ".drained"))
    assert fleet.haproxy.states() == {name: "UP" for name in HOSTS}
    assert {fleet.serves(name) for name in HOSTS} == {"hello v2"}

    # The controller is lost while web1 is drained: it stays out, marked so on the host.
    set_version(fleet, "3")
    with Load(fleet.haproxy.url + "version", clients=4, max_seconds=300) as load:
        cut = fleet.run("-e", '{"wsgi_deploy_drain": "always", "wsgi_deploy_before_live_tasks": "%s"}'
                        % cut_off_while_drained(tmp_path, fleet))
        assert cut.returncode < 0
        assert fleet.haproxy.states()["web1"] == "MAINT"
        assert os.path.exists(os.path.join(fleet.hosts["web1"]["root"], ".drained"))

        # The next deploy (its default drain: none for a reload) finishes, and puts it back.
        again = fleet.run()
    assert again.returncode == 0, again.stdout[-5000:]
    report = load.report()
    assert report["failed"] == 0 and report["ok"] > 0, report
    assert fleet.haproxy.states() == {name: "UP" for name in HOSTS}
    assert not os.path.exists(os.path.join(fleet.hosts["web1"]["root"], ".drained"))
    assert {fleet.serves(name) for name in HOSTS} == {"hello v3"}
