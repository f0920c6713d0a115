#!/usr/bin/env bash
# ansible-test sanity on the collection as users get it: built into a tarball, installed
# under ansible_collections/graceful/wsgi_deploy (where ansible-test must run), checked there.
# Run by `./dev sanity` and `./dev test`.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
CACHE=$ROOT/.cache/sanity
core=$(sed -n 's/^ansible-core==//p' constraints.txt)

# ansible-test installs each test's tools into a virtualenv of its own, with this Python.
if [[ ! -x $CACHE/venv/bin/ansible-test || ! -f $CACHE/venv/.core-$core ]]; then
  rm -rf "$CACHE/venv"
  python3 -m venv "$CACHE/venv"
  "$CACHE/venv/bin/pip" install -q "ansible-core==$core" >"$CACHE/pip.log" 2>&1 ||
    { tail -n 30 "$CACHE/pip.log" >&2; exit 1; }
  touch "$CACHE/venv/.core-$core"
fi
export PATH=$CACHE/venv/bin:$PATH

# ansible-test starts each of those virtualenvs with pip's get-pip script, fetched from a
# host this machine cannot reach; it takes the script from its cache when one is there.
# This stand-in does the same job from what Python ships (ensurepip) and PyPI; a real
# script already in the cache is used as it is.
pip_version=$(python3 - <<'PY'
import re, ansible_test, os
path = os.path.join(os.path.dirname(ansible_test.__file__), "_internal", "python_requirements.py")
print(re.search(r"pip='([0-9.]+)'", open(path).read()).group(1))
PY
)
bootstrap=$HOME/.ansible/test/cache/get_pip_${pip_version//./_}.py
mkdir -p "$(dirname "$bootstrap")"
[[ -s $bootstrap ]] || cat >"$bootstrap" <<'PY'
"""Installs pip into an empty virtualenv, as get-pip.py does, from Python's own ensurepip."""
import subprocess
import sys

# In a process of its own: ensurepip turns off pip's configuration (and with it the
# machine's CA bundle) in the environment of the process that runs it.
subprocess.check_call([sys.executable, "-m", "ensurepip"])
wanted = [arg for arg in sys.argv[1:] if arg not in ("--no-setuptools", "--no-wheel")]
subprocess.check_call([sys.executable, "-m", "pip", "install", "--disable-pip-version-check"] + wanted)
PY

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
printf '[defaults]\n' >"$work/ansible.cfg"
ansible-galaxy collection build --output-path "$work" "$ROOT" >/dev/null
ANSIBLE_CONFIG=$work/ansible.cfg ansible-galaxy collection install --no-deps -p "$work" "$work"/graceful-wsgi_deploy-*.tar.gz >/dev/null
cd "$work/ansible_collections/graceful/wsgi_deploy"
ansible-test sanity --requirements --python "$(python3 -c 'import sys; print("%d.%d" % sys.version_info[:2])')" "$@"
