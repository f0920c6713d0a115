# The seed's gunicorn app (shared/seed, section 3.1), with a version to see deploys land.
import time
from flask import Flask

VERSION = "1"

app = Flask(__name__)


@app.route("/")
def index():
    # time.sleep(3)
    return "hello fdaf fdafd v%s" % VERSION


@app.route("/slow")
def slow():
    time.sleep(10)
    return "slow v%s" % VERSION


if __name__ == "__main__":
    app.run()
