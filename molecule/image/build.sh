#!/usr/bin/env bash
# Builds the Debian 12 + systemd image the Molecule scenarios run in, offline:
# debootstrap from the machine's own Debian mirror, then `docker import`.
# Users who can pull from a registry get the same image from ./Dockerfile (README).
set -euo pipefail

image=${WSGI_DEPLOY_IMAGE:-wsgi-deploy-debian12:latest}
here=$(cd "$(dirname "$0")" && pwd)
# The image carries a digest of what it was built from: a change to the package list (or to
# this script) rebuilds it on the next run, on a developer's machine and in CI alike.
recipe=$(cat "$here/packages.sh" "$here/build.sh" | sha256sum | cut -c1-16)
built=$(docker image inspect "$image" --format '{{ index .Config.Labels "wsgi-deploy.recipe" }}' 2>/dev/null || true)
if [[ -z ${WSGI_DEPLOY_IMAGE_REBUILD:-} && $built == "$recipe" ]]; then
  echo "image $image already built from this recipe (WSGI_DEPLOY_IMAGE_REBUILD=1 rebuilds it)"
  exit 0
fi
[[ -z $built ]] || echo "image $image was built from another recipe ($built); rebuilding it ($recipe)"

# shellcheck source=molecule/image/packages.sh
source "$here/packages.sh"

# The mirror comes from this machine's apt sources: no registry host is written here.
mirror=$(
  { cat /etc/apt/sources.list.d/*.sources 2>/dev/null | grep -E '^URIs:' | awk '{print $2}'
    cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null | grep -E '^deb ' | awk '{print $2}'
  } 2>/dev/null | grep -E '/debian/?$' | head -n 1 || true
)
[[ -n $mirror ]] || { echo "no Debian mirror found in /etc/apt/sources.list*" >&2; exit 1; }

rootfs=$(mktemp -d /var/tmp/wsgi-deploy-rootfs.XXXXXX)
trap 'rm -rf "$rootfs"' EXIT
echo "debootstrap bookworm from $mirror into $rootfs"
debootstrap --variant=minbase --include="$(IFS=,; echo "${IMAGE_PACKAGES[*]}")" \
  bookworm "$rootfs" "$mirror" >"$rootfs.log" 2>&1 || { tail -n 30 "$rootfs.log" >&2; exit 1; }
rm -f "$rootfs.log"

# pip inside the container reaches PyPI only through this machine's CA bundle.
install -D -m 0644 /etc/ssl/certs/ca-certificates.crt "$rootfs/etc/ssl/certs/host-ca-bundle.crt"
printf '[global]\ncert = /etc/ssl/certs/host-ca-bundle.crt\n' >"$rootfs/etc/pip.conf"
chroot "$rootfs" /bin/sh -c "$IMAGE_SYSTEMD_TRIM"
rm -rf "$rootfs"/var/cache/apt/archives/*.deb

tar -C "$rootfs" -c . | docker import \
  --change 'ENV container=docker' \
  --change 'CMD ["/sbin/init"]' \
  --change "LABEL wsgi-deploy.recipe=$recipe" - "$image"
echo "built $image"
