"""The example app wsgi-deploy ships: the seed's Flask app, with a version to see deploys land."""
import os
import time

from flask import Flask, request

VERSION = "1"

app = Flask(__name__)


@app.route("/")
def index():
    return f"hello v{VERSION}\n"


@app.route("/version")
def version():
    return {"version": VERSION, "pid": os.getpid()}


@app.route("/slow")
def slow():
    # The seed's 10 s request, to show that a reload lets in-flight work finish.
    seconds = min(float(request.args.get("s", "10")), 120.0)
    time.sleep(seconds)
    return f"slow done v{VERSION}\n"


@app.route("/healthz")
def healthz():
    return "ok\n"


if __name__ == "__main__":
    app.run()
