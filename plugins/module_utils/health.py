# -*- coding: utf-8 -*-
"""The app's health check, asked on the server itself: does the app answer the expected status
and text? Asked in the module that reloaded, it costs no task of its own."""
from __future__ import annotations

import json
import time

# The options of a module that asks the health check (doc fragment graceful.wsgi_deploy.health).
ARGUMENT_SPEC = {
    "health_url": {"type": "str"},
    "health_status": {"type": "int", "default": 200},
    "health_text": {"type": "str", "default": ""},
    # A header may carry a token.
    "health_headers": {"type": "dict", "default": {}, "no_log": True},
    "health_timeout": {"type": "float", "default": 3},
}
POLL_SECONDS = 0.25
REQUEST_SECONDS = 10.0
# The answer is kept for the report and a failure's message; no app page needs more to say why.
MAX_BYTES = 1 << 16


def fetch(url, headers, timeout):
    """One GET: (status, text, why nothing answered)."""
    # Imported here: every call of the modules that import this file would pay for urllib.
    import urllib.error
    import urllib.request

    request = urllib.request.Request(url, headers=dict(headers or {}))
    # The app answers on this host: a proxy from the environment must not stand in between.
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(request, timeout=timeout) as answer:
            return answer.status, answer.read(MAX_BYTES).decode("utf-8", "replace"), ""
    except urllib.error.HTTPError as exc:
        body = exc.read(MAX_BYTES).decode("utf-8", "replace") if exc.fp else ""
        return exc.code, body, ""
    except urllib.error.URLError as exc:
        return 0, "", str(exc.reason)
    except (OSError, ValueError) as exc:
        return 0, "", str(exc)


# An app that answers with any other status than these has answered for good: asking again only
# waits out the timeout. These say it is not serving yet (a proxy or a server still starting).
NOT_YET = (502, 503, 504)


def _verdict(url, status, content, error, want_status, want_text):
    if status == 0:
        return "nothing answers at %s (%s)" % (url, error)
    if status != want_status:
        if status == 400:
            # Django answers a bare 400 to a Host not in ALLOWED_HOSTS; others do alike.
            return ("status 400 where %d was expected: the app may refuse the Host it was asked for; send the host it "
                    "serves with health_headers (the role's wsgi_deploy_healthcheck_headers), such as "
                    "{Host: shop.example.com}" % want_status)
        return "status %d where %d was expected" % (status, want_status)
    if want_text and want_text not in content:
        return "no %s in its answer" % json.dumps(want_text)
    return ""


def check(url, status=200, text="", headers=None, wait=3.0, clock=time.monotonic, sleep=time.sleep,
          get=fetch):
    """Ask until the app answers `status` with `text` in it, for up to `wait` seconds (at least
    once). Returns the health facts; `problem` is empty when the app answered as expected."""
    started = clock()
    deadline = started + max(float(wait), 0.0)
    attempts = 0
    while True:
        attempts += 1
        remaining = deadline - clock()
        got, content, error = get(url, headers, max(1.0, min(REQUEST_SECONDS, remaining)))
        problem = _verdict(url, got, content, error, int(status), text)
        definite = got not in (0, int(status)) + NOT_YET
        if not problem or definite or clock() + POLL_SECONDS > deadline:
            return {"url": url, "status": got, "content": content, "attempts": attempts,
                    "duration_s": round(clock() - started, 3), "problem": problem}
        sleep(POLL_SECONDS)


def ask(params):
    """The check as a module's health_* options describe it."""
    return check(params["health_url"], params["health_status"], params["health_text"], params["health_headers"],
                 params["health_timeout"])


def failure(done, answer):
    """A failed check's message and facts: what the module did before it (`done`, whose msg leads),
    and what the app answered, as status and content, named as the uri module names them."""
    facts = dict((key, value) for key, value in done.items() if key != "msg")
    msg = "the app does not answer its health check as expected: %s" % answer["problem"]
    if done.get("msg"):
        msg = "%s; %s" % (done["msg"], msg)
    facts.update(status=answer["status"], content=answer["content"], health=answer)
    return msg, facts
