#!/usr/bin/env bash
# Makes sure a Docker engine answers. On this kind of machine none runs by default,
# no bridge can be made and images cannot be pulled, hence the flags (README, "Testing").
set -euo pipefail
if docker info >/dev/null 2>&1; then exit 0; fi
if ! command -v dockerd >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || { echo "docker.io is not installed; run as root or install it" >&2; exit 1; }
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq docker.io >/dev/null
fi
if ! docker info >/dev/null 2>&1; then
  log=${TMPDIR:-/tmp}/wsgi-deploy-dockerd.log
  nohup dockerd --bridge=none --iptables=false >"$log" 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && exit 0
    sleep 1
  done
  echo "dockerd did not come up; see $log" >&2
  tail -n 20 "$log" >&2
  exit 1
fi
