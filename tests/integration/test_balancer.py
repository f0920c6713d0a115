"""What the role asks haproxy before a deploy behind it changes anything (balancer.server_state),
against a real haproxy of its own (tools/fleet.py's, Debian's haproxy)."""
import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils.balancer import BalancerError, server_state
from fleet import Haproxy
from testservers import free_port


@pytest.fixture
def haproxy(tmp_path):
    balancer = Haproxy(str(tmp_path), {"web1": {"port": free_port()}, "web2": {"port": free_port()}}).start()
    yield balancer
    balancer.stop()


def test_a_known_server_has_a_status_and_an_unknown_name_is_refused_with_the_known_ones(haproxy):
    assert server_state(haproxy.socket, "app", "web1") in ("UP", "DOWN")
    with pytest.raises(BalancerError) as unknown:
        server_state(haproxy.socket, "shop", "web1")
    assert "haproxy has no backend shop (its backends: app): set wsgi_deploy_haproxy_backend" in unknown.value.msg
    with pytest.raises(BalancerError) as unknown:
        server_state(haproxy.socket, "app", "web3")
    assert "backend app has no server web3 (its servers: web1, web2): set wsgi_deploy_haproxy_server" in unknown.value.msg
