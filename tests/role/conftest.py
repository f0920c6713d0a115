"""Runs the role on this machine (connection local, service manager none), like the demo."""
import pytest

from roledeploy import Deploy
from testservers import free_port


@pytest.fixture(autouse=True)
def json_output(monkeypatch):
    """The role's runs print JSON, from which the tests read wsgi_deploy_result."""
    monkeypatch.setenv("ANSIBLE_STDOUT_CALLBACK", "ansible.posix.json")


@pytest.fixture
def deploy(tmp_path):
    made = []

    def make(server="gunicorn"):
        item = Deploy(tmp_path / server, free_port(), server)
        made.append(item)
        return item

    yield make
    for item in made:
        item.stop()
