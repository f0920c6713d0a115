# The seed's uWSGI app (shared/seed, section 2.1), with a version to see deploys land.
import time
from flask import Flask

VERSION = "1"

app = Flask(__name__)


@app.route("/")
def index():
    time.sleep(10)
    return "hello eeee v%s" % VERSION


@app.route("/version")
def version():
    return "v%s" % VERSION


if __name__ == "__main__":
    app.run()
