"""The health check the reload asks in the same call: the expected status and text, asked until
they come or the wait is over, never through a proxy, with the headers the app needs."""
import http.server
import threading

import pytest
import yaml

from ansible_collections.graceful.wsgi_deploy.plugins.module_utils import health
from ansible_run import run_module
from testservers import free_port, set_version


class FakeClock(object):
    def __init__(self):
        self.now = 100.0

    def __call__(self):
        return self.now

    def sleep(self, seconds):
        self.now += seconds


def answers(*replies):
    """A stand-in for the app: each ask gets the next reply, the last one for ever after."""
    asked = []

    def get(url, headers, timeout):
        asked.append((url, headers, timeout))
        return replies[min(len(asked), len(replies)) - 1]
    return get, asked


def test_an_app_that_answers_at_once_is_asked_once():
    clock = FakeClock()
    get, asked = answers((200, "hello v2", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "v2", wait=3, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"] == "" and facts["status"] == 200 and facts["attempts"] == 1
    assert len(asked) == 1


def test_an_app_still_starting_is_asked_again_until_it_answers():
    clock = FakeClock()
    get, asked = answers((0, "", "Connection refused"), (503, "starting", ""), (200, "ok", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "ok", wait=3, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"] == "" and facts["attempts"] == 3


def test_a_definite_wrong_status_fails_at_once_and_says_what_came():
    clock = FakeClock()
    get, asked = answers((500, "Traceback ... KeyError: 'SECRET'", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "", wait=30, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"] == "status 500 where 200 was expected"
    assert facts["content"].startswith("Traceback")
    assert facts["attempts"] == 1 and clock.now == 100.0, "a 500 is the app's answer: not asked again for 30 s"


def test_a_server_not_serving_yet_is_asked_until_the_wait_is_over():
    clock = FakeClock()
    get, asked = answers((503, "starting", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "", wait=2, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"] == "status 503 where 200 was expected"
    assert 1 < facts["attempts"] <= 2 / health.POLL_SECONDS + 1
    assert clock.now - 100.0 <= 2.0


def test_a_400_hints_at_the_host_the_app_serves():
    clock = FakeClock()
    get, _ = answers((400, "", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "", wait=30, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"].startswith("status 400 where 200 was expected: the app may refuse the Host")
    assert "wsgi_deploy_healthcheck_headers" in facts["problem"] and facts["attempts"] == 1


def test_the_right_status_without_the_expected_text_fails():
    clock = FakeClock()
    get, _ = answers((200, "hello v1", ""))
    facts = health.check("http://127.0.0.1:1/", 200, "hello v2", wait=0, clock=clock, sleep=clock.sleep, get=get)
    assert facts["problem"] == 'no "hello v2" in its answer' and facts["attempts"] == 1


def test_nothing_listening_is_named_with_the_reason():
    facts = health.check("http://127.0.0.1:%d/" % free_port(), wait=0)
    assert facts["status"] == 0
    assert facts["problem"].startswith("nothing answers at http://127.0.0.1:")
    assert "refused" in facts["problem"].lower()


class EchoHost(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (the name http.server calls)
        body = ("host=%s" % self.headers.get("Host")).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def echo_host():
    httpd = http.server.HTTPServer(("127.0.0.1", 0), EchoHost)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield "http://127.0.0.1:%d/" % httpd.server_address[1]
    httpd.shutdown()
    httpd.server_close()


def test_the_host_header_is_sent_and_a_proxy_in_the_environment_is_not_used(echo_host, monkeypatch):
    # A proxy that does not exist: asked through it, the check could not answer.
    monkeypatch.setenv("http_proxy", "http://127.0.0.1:%d" % free_port())
    monkeypatch.setenv("HTTP_PROXY", "http://127.0.0.1:%d" % free_port())
    facts = health.check(echo_host, 200, "host=shop.example.com", headers={"Host": "shop.example.com"}, wait=0)
    assert facts["problem"] == "", facts
    assert facts["content"] == "host=shop.example.com"


def _module_result(run):
    # The result as the project's ansible.cfg prints it (YAML).
    return yaml.safe_load(run.stdout.split(" => ", 1)[1])


def test_the_reload_module_checks_the_new_code_in_the_same_call(gunicorn):
    set_version(gunicorn.app_dir, "2")
    args = dict(gunicorn.params(), health_url=gunicorn.url + "/", health_text="hello v2")
    run = run_module("wsgi_reload", {k: v for k, v in args.items() if v is not None})
    assert run.returncode == 0, run.stdout[-2000:]
    facts = _module_result(run)
    assert facts["reloaded"] is True
    assert facts["health"]["status"] == 200 and facts["health"]["problem"] == ""
    assert facts["health"]["content"].strip() == "hello v2"


def test_a_reload_whose_app_answers_wrong_fails_and_says_what_it_answered(gunicorn):
    set_version(gunicorn.app_dir, "2")
    args = dict(gunicorn.params(), health_url=gunicorn.url + "/", health_text="hello v3", health_timeout=1)
    run = run_module("wsgi_reload", {k: v for k, v in args.items() if v is not None})
    assert run.returncode != 0
    facts = _module_result(run)
    assert 'the app does not answer its health check as expected: no "hello v3" in its answer' in facts["msg"]
    # The reload itself ended: its facts are there for the rollback and the message.
    assert facts["reloaded"] is True and facts["new_pids"]
    assert facts["status"] == 200 and facts["content"].strip() == "hello v2"
