# shellcheck shell=bash
# One list of what the test image holds, read by build.sh (debootstrap) and
# mirrored by the Dockerfile for users who build from a registry's debian:bookworm.
# shellcheck disable=SC2034
IMAGE_PACKAGES=(systemd systemd-sysv dbus python3 python3-apt python3-venv rsync
  ca-certificates procps sudo iproute2 haproxy)
# haproxy is the fleet scenario's balancer: its prepare starts it on that host alone. The other
# units only make sense on a real machine and slow or break boot in a container.
# shellcheck disable=SC2034
IMAGE_SYSTEMD_TRIM='systemctl mask systemd-udevd.service systemd-udevd-kernel.socket \
  systemd-udevd-control.socket getty.target console-getty.service \
  systemd-logind.service sys-kernel-config.mount dev-hugepages.mount \
  systemd-remount-fs.service >/dev/null 2>&1; systemctl disable haproxy.service >/dev/null 2>&1; rm -f /etc/machine-id; touch /etc/machine-id'
