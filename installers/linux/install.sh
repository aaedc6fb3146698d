#!/bin/sh
# Installs Keyturn from the CPack tarball (keyturn-VERSION-Linux.tar.gz) on a Linux
# system without dpkg: the same files, units and user as the Debian packages.
#
#   install.sh --tarball keyturn-0.1.0-Linux.tar.gz [--components agent,server,cli]
#              [--prefix /usr] [--root /] [--no-systemd]
#
# --prefix  where usr/ of the tarball goes (default /usr). With another prefix the
#           units' ExecStart follow it, and the agent must be enrolled with
#           --plugins PREFIX/lib/keyturn/plugins (its built-in default is /usr/...).
# --root    install into another root (a chroot, an image, a test folder). Users are
#           then created with `useradd --prefix ROOT`, and systemd is not touched.
# Nothing is started: the agent waits for `keyturn-agent enroll`, the coordinator for
# `keyturn-server init` (the units' ConditionPathExists), as with the packages.
set -eu

usage() {
  sed -n '2,15p' "$0" | sed 's/^# \{0,1\}//' >&2
  exit 2
}
die() { echo "install.sh: $*" >&2; exit 1; }

tarball=""
components="agent,server,cli"
prefix="/usr"
root="/"
systemd=yes
while [ $# -gt 0 ]; do
  case "$1" in
    --tarball) [ $# -ge 2 ] || usage; tarball=$2; shift 2 ;;
    --components) [ $# -ge 2 ] || usage; components=$2; shift 2 ;;
    --prefix) [ $# -ge 2 ] || usage; prefix=$2; shift 2 ;;
    --root) [ $# -ge 2 ] || usage; root=$2; shift 2 ;;
    --no-systemd) systemd=no; shift ;;
    -h|--help) usage ;;
    *) echo "install.sh: unknown option $1" >&2; usage ;;
  esac
done
[ -n "$tarball" ] || die "--tarball is required"
[ -f "$tarball" ] || die "--tarball $tarball: no such file"
case "$prefix" in /*) ;; *) die "--prefix must be an absolute path, got $prefix" ;; esac
case "$root" in /*) ;; *) die "--root must be an absolute path, got $root" ;; esac
want() { case ",$components," in *",$1,"*) return 0 ;; *) return 1 ;; esac; }
for c in $(echo "$components" | tr ',' ' '); do
  case "$c" in agent|server|cli) ;; *) die "--components: unknown component $c (agent, server, cli)" ;; esac
done
root=${root%/}
if [ -z "$root" ] && [ "$(id -u)" -ne 0 ]; then
  die "installing into / needs root (or use --root DIR to install elsewhere)"
fi
[ -n "$root" ] && systemd=no

stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT INT TERM
tar -xzf "$tarball" -C "$stage" || die "cannot extract $tarball"
top=$(find "$stage" -mindepth 1 -maxdepth 1 -type d | head -n 1)
[ -n "$top" ] && [ -d "$top/usr/bin" ] || die "$tarball is not a Keyturn tarball (no usr/bin)"

# copy SRC DEST MODE: one file, its mode set explicitly (never the archive's owner).
copy() {
  mkdir -p "$(dirname "$2")"
  cp "$1" "$2.tmp.$$"
  chmod "$3" "$2.tmp.$$"
  mv -f "$2.tmp.$$" "$2"
}
dest="$root$prefix"
unitdir="$root/etc/systemd/system"
etc="$root/etc/keyturn"

if want agent || want server; then
  mkdir -p "$etc"
  chmod 0750 "$etc"
fi
# A conffile the administrator changed is kept; the new one is put beside it.
conffile() {
  if [ -e "$2" ] && ! cmp -s "$1" "$2"; then
    copy "$1" "$2.new" 0644
    echo "install.sh: kept your $2; the shipped version is $2.new"
  else
    copy "$1" "$2" 0644
  fi
}
unit() {
  mkdir -p "$unitdir"
  sed "s|/usr/bin/|$prefix/bin/|g" "$1" > "$unitdir/$(basename "$1").tmp.$$"
  chmod 0644 "$unitdir/$(basename "$1").tmp.$$"
  mv -f "$unitdir/$(basename "$1").tmp.$$" "$unitdir/$(basename "$1")"
}

if want cli; then
  copy "$top/usr/bin/keyturn" "$dest/bin/keyturn" 0755
fi
if want agent; then
  copy "$top/usr/bin/keyturn-agent" "$dest/bin/keyturn-agent" 0755
  for f in "$top"/usr/lib/keyturn/plugins/*; do
    copy "$f" "$dest/lib/keyturn/plugins/$(basename "$f")" 0644
  done
  conffile "$top/etc/keyturn/agent.env" "$etc/agent.env"
  unit "$top/lib/systemd/system/keyturn-agent.service"
  mkdir -p "$root/var/lib/keyturn"
  chmod 0700 "$root/var/lib/keyturn"
fi
if want server; then
  copy "$top/usr/bin/keyturn-server" "$dest/bin/keyturn-server" 0755
  if [ -d "$top/usr/share/keyturn/web" ]; then
    mkdir -p "$dest/share/keyturn"
    rm -rf "$dest/share/keyturn/web"
    cp -R "$top/usr/share/keyturn/web" "$dest/share/keyturn/web"
    chmod -R u=rwX,go=rX "$dest/share/keyturn/web"
  fi
  conffile "$top/etc/keyturn/server.env" "$etc/server.env"
  unit "$top/lib/systemd/system/keyturn-server.service"

  # The system user `keyturn` (group keyturn, no login, home = the data folder).
  if grep -q '^keyturn:' "$root/etc/passwd" 2>/dev/null; then
    :
  elif command -v useradd >/dev/null 2>&1; then
    if [ -n "$root" ]; then
      useradd --prefix "$root" --system --user-group --no-create-home \
        --home-dir /var/lib/keyturn-server --shell /usr/sbin/nologin keyturn
    else
      useradd --system --user-group --no-create-home \
        --home-dir /var/lib/keyturn-server --shell /usr/sbin/nologin keyturn
    fi
  elif command -v adduser >/dev/null 2>&1 && [ -z "$root" ]; then
    # busybox
    adduser -S -D -H -h /var/lib/keyturn-server -s /sbin/nologin keyturn
  else
    die "cannot create the user keyturn: no useradd"
  fi
  mkdir -p "$root/var/lib/keyturn-server"
  chmod 0700 "$root/var/lib/keyturn-server"
  if [ "$(id -u)" -eq 0 ]; then
    if [ -n "$root" ]; then
      ids=$(awk -F: '$1 == "keyturn" { print $3 ":" $4 }' "$root/etc/passwd" 2>/dev/null || true)
      [ -n "$ids" ] && chown "$ids" "$root/var/lib/keyturn-server"
    else
      chown keyturn:keyturn /var/lib/keyturn-server
    fi
  fi
fi

if [ "$systemd" = yes ] && [ -d /run/systemd/system ]; then
  systemctl daemon-reload
  want agent && systemctl enable keyturn-agent.service
  want server && systemctl enable keyturn-server.service
fi

echo "install.sh: installed ${components} into ${root:-/} (prefix $prefix); nothing was started."
if want server; then
  echo "  coordinator: sudo -u keyturn $prefix/bin/keyturn-server init --data /var/lib/keyturn-server --tenant NAME; then systemctl start keyturn-server"
fi
if want agent; then
  plugins=""
  [ "$prefix" != /usr ] && plugins=" --plugins $prefix/lib/keyturn/plugins"
  echo "  agent: sudo $prefix/bin/keyturn-agent enroll --server URL --ca ca.pem --code CODE$plugins; then systemctl start keyturn-agent"
fi
