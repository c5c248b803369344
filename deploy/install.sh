#!/usr/bin/env bash
# Installs ncmd and ncmctl as a systemd service; running it again changes
# nothing that is already in place (an edited /etc/ncm/ncmd.conf is kept).
#   deploy/install.sh [--prefix=/usr/local] [--root=DIR] [--no-user] [--no-build]
#                     [--from=build/bin]
# --root installs under DIR (a staging tree, a package build) and implies
# --no-user and no systemctl.
set -euo pipefail
cd "$(dirname "$0")/.."
prefix=/usr/local
root=""
user=1
build=1
from=build/bin
for a in "$@"; do
  case "$a" in
    --prefix=*) prefix="${a#--prefix=}" ;;
    --root=*) root="${a#--root=}"; user=0 ;;
    --no-user) user=0 ;;
    --no-build) build=0 ;;
    --from=*) from="${a#--from=}"; build=0 ;;
    *) echo "install.sh: unknown argument $a" >&2; exit 2 ;;
  esac
done
if [ "$build" = 1 ]; then deploy/build.sh ncmd ncmctl >&2; fi

install -d -m 0755 "$root$prefix/bin" "$root$prefix/share/doc/ncm" "$root/etc/systemd/system"
install -m 0755 "$from/ncmd" "$from/ncmctl" "$root$prefix/bin/"
install -m 0644 README.md deploy/ncmd.conf.example "$root$prefix/share/doc/ncm/"
unit=$(mktemp)
trap 'rm -f "$unit"' EXIT
sed -e "s|/usr/local/bin/ncmd|$prefix/bin/ncmd|" \
    -e "s|/usr/local/share/doc/ncm|$prefix/share/doc/ncm|" deploy/ncmd.service > "$unit"
install -m 0644 "$unit" "$root/etc/systemd/system/ncmd.service"
install -d -m 0755 "$root/etc/ncm"
install -m 0644 deploy/ncmd.conf.example "$root/etc/ncm/ncmd.conf.example"
# The live configuration is the operator's: made once, never overwritten.
if [ ! -e "$root/etc/ncm/ncmd.conf" ]; then
  install -m 0640 deploy/ncmd.conf.example "$root/etc/ncm/ncmd.conf"
fi
install -d -m 0700 "$root/var/backups/ncm"

if [ "$user" = 1 ]; then
  getent group ncm >/dev/null || groupadd --system ncm
  if ! id -u ncm >/dev/null 2>&1; then
    useradd --system --gid ncm --home-dir /var/lib/ncm --no-create-home \
      --shell /usr/sbin/nologin --comment "NCM coordination backend" ncm
  fi
  chgrp ncm /etc/ncm/ncmd.conf
  chown ncm:ncm /var/backups/ncm
fi
if [ -z "$root" ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  echo "installed; start it with: systemctl enable --now ncmd" >&2
else
  echo "installed under ${root:-/}" >&2
fi
