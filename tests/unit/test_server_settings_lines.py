"""The extra server settings' lines: literals only, whatever the values hold."""
import ast

import pytest

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import server_settings


def test_gunicorn_values_are_python_literals_that_run_no_code():
    settings = {"accesslog": "x\" + __import__('os').system('id') + \"", "max_requests": 1000,
                "forwarded_allow_ips": ["10.0.0.1", "10.0.0.2"], "reuse_port": True, "keepalive": 2.5}
    text = server_settings.render(settings, "gunicorn")
    tree = ast.parse(text)
    assigned = {node.targets[0].id: ast.literal_eval(node.value) for node in tree.body}
    assert assigned == settings


def test_uwsgi_lists_give_the_option_once_per_item_and_booleans_as_words():
    text = server_settings.render({"add-header": ["X-A: 1", "X-B: 2"], "thunder-lock": True, "harakiri": 30}, "uwsgi")
    assert text.splitlines() == ["add-header = X-A: 1", "add-header = X-B: 2", "harakiri = 30", "thunder-lock = true"]


@pytest.mark.parametrize("server, settings, says", [
    ("gunicorn", {"bind": "0.0.0.0:80"}, "bind cannot be set here; set wsgi_deploy_bind."),
    # A master that cannot become the user it is told (or becomes root) takes the site down.
    ("gunicorn", {"user": "root"}, "user cannot be set here; the server runs as wsgi_deploy_user"),
    ("uwsgi", {"uid": 0}, "uid cannot be set here; the server runs as wsgi_deploy_user"),
    ("uwsgi", {"home": "/opt/venv"}, "home cannot be set here; the role sets it"),
    ("uwsgi", {"socket": "127.0.0.1:3031\nhttp = :80"}, "the value of socket holds a line break"),
    ("gunicorn", {"Bad-Name": 1}, '"Bad-Name" is not a gunicorn setting\'s name'),
    ("gunicorn", {"statsd_host": None}, "the value of statsd_host must be a string, a number"),
    ("uwsgi", {"add-header": []}, "the value of add-header is an empty list"),
    ("uwsgi", {"cron": [True]}, "is a list holding true or false"),
])
def test_problems_name_the_setting_and_never_its_value(server, settings, says):
    found = server_settings.problems(settings, server)
    assert any(says in problem for problem in found), found
    assert not [value for value in settings.values() if isinstance(value, str) and value in " ".join(found)]
    with pytest.raises(ValueError):
        server_settings.render(settings, server)

