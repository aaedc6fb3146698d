#!/usr/bin/env bash
# The packages test (ctest label `packages`, issue 5): builds the Debian packages and
# the tarball from the built tree with cpack, runs lintian (errors fail), then installs
# them into throwaway roots and checks what an administrator relies on: file layout,
# modes and owners, conffiles, units, the `keyturn` user, nothing started, remove vs
# purge; and the same through installers/linux/install.sh.
#
# Nothing touches the real machine: dpkg runs with --root on a temporary folder (under
# fakeroot when not root) and the maintainer scripts see DPKG_ROOT; every tool they
# could use to change the system (useradd, userdel, adduser, systemctl, ...) is a fake on
# PATH that only records its arguments.
#
# usage: check.sh BUILD_DIR SOURCE_DIR
set -euo pipefail
build=$(cd "$1" && pwd)
src=$(cd "$2" && pwd)
tmp=$(mktemp -d "${TMPDIR:-/tmp}/keyturn-packages.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
failures=0
fail() { echo "FAIL: $*" >&2; failures=$((failures + 1)); }
die() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "== $*"; }
version=$(sed -n 's/^CPACK_PACKAGE_VERSION:[A-Z]*=//p' "$build/CMakeCache.txt" 2>/dev/null || true)
[ -n "$version" ] || version=$(sed -n 's/^set(CPACK_PACKAGE_VERSION "\(.*\)")$/\1/p' "$build/CPackConfig.cmake")
[ -n "$version" ] || die "no CPACK_PACKAGE_VERSION in $build/CPackConfig.cmake"

for tool in cpack dpkg dpkg-deb dpkg-query lintian; do
  command -v "$tool" >/dev/null || die "$tool is missing (scripts/setup-deps installs it)"
done
as_root=()
if [ "$(id -u)" -ne 0 ]; then
  command -v fakeroot >/dev/null || die "fakeroot is missing (scripts/setup-deps installs it)"
  as_root=(fakeroot)
fi
# DPKG_ROOT for chrootless maintainer scripts came with dpkg 1.18.5; without it the
# scripts would act on the real / — refuse to run rather than risk it.
dpkg --compare-versions "$(dpkg-query -W -f='${Version}' dpkg)" ge 1.18.5 || die "dpkg too old for DPKG_ROOT"

# --- 1. Build -----------------------------------------------------------------------------
step "cpack (DEB, TGZ)"
out="$tmp/out"
if ! (cd "$build" && cpack -G "DEB;TGZ" -B "$out" >"$tmp/cpack.log" 2>&1); then
  cat "$tmp/cpack.log" >&2
  die "cpack failed"
fi
agent_deb="$out/keyturn-agent_${version}_$(dpkg --print-architecture).deb"
server_deb="$out/keyturn-server_${version}_$(dpkg --print-architecture).deb"
cli_deb="$out/keyturn_${version}_$(dpkg --print-architecture).deb"
tarball="$out/keyturn-${version}-Linux.tar.gz"
for f in "$agent_deb" "$server_deb" "$cli_deb" "$tarball"; do
  [ -f "$f" ] || { ls -l "$out" >&2; die "cpack did not make $(basename "$f")"; }
done
for f in "$agent_deb" "$server_deb" "$cli_deb" "$tarball"; do
  echo "   $(basename "$f"): $(du -k "$f" | cut -f1) KiB"
done

# --- 2. lintian -----------------------------------------------------------------------
step "lintian"
lintian --fail-on error --tag-display-limit 0 "$agent_deb" "$server_deb" "$cli_deb" >"$tmp/lintian.log" 2>&1 \
  || { cat "$tmp/lintian.log" >&2; fail "lintian reports errors"; }
echo "   errors: $(grep -c '^E: ' "$tmp/lintian.log" || true), warnings: $(grep -c '^W: ' "$tmp/lintian.log" || true)"
sed 's/^/   /' "$tmp/lintian.log"

# --- 3. Control data ------------------------------------------------------------------
step "control: names, versions, Depends from dpkg-shlibdeps, conffiles, scripts"
field() { dpkg-deb -f "$1" "$2"; }
expect_field() {  # DEB FIELD REGEX
  local value
  value=$(field "$1" "$2")
  [[ "$value" =~ $3 ]] || fail "$(basename "$1") $2 is '$value', expected /$3/"
}
expect_field "$agent_deb" Package '^keyturn-agent$'
expect_field "$server_deb" Package '^keyturn-server$'
expect_field "$cli_deb" Package '^keyturn$'
for deb in "$agent_deb" "$server_deb" "$cli_deb"; do
  expect_field "$deb" Version "^${version//./\\.}$"
  expect_field "$deb" Depends 'libc6'
done
for deb in "$server_deb" "$cli_deb"; do
  expect_field "$deb" Depends 'libpoco(foundation|net|util|json|netssl|crypto)[0-9]+'
  expect_field "$deb" Depends 'libssl3'
done
# The agent links SQLite and Lua statically (its idle memory, docs/decisions.md), and in
# the build the packages are made from (scripts/build: KEYTURN_STATIC_AGENT) Poco, OpenSSL
# and libstdc++ too: it then needs only the C runtime and the unwinder. The coordinator
# and the CLI use the shared libraries.
if grep -q '^KEYTURN_STATIC_AGENT:BOOL=ON$' "$build/CMakeCache.txt"; then
  expect_field "$agent_deb" Depends '^init-system-helpers \([^)]*\), libc6 \([^)]*\), libgcc-s1 \([^)]*\)$'
else
  echo "   not the static agent (KEYTURN_STATIC_AGENT is off): the agent package needs shared Poco and OpenSSL"
  expect_field "$agent_deb" Depends 'libpoco(foundation|net|util|json|netssl|crypto)[0-9]+'
  expect_field "$agent_deb" Depends 'libssl3'
fi
expect_field "$server_deb" Depends 'liblua5\.4-0'
expect_field "$cli_deb" Depends 'liblua5\.4-0'
! [[ "$(field "$agent_deb" Depends)" =~ libsqlite3|liblua ]] || fail "the agent depends on SQLite or Lua: $(field "$agent_deb" Depends)"
expect_field "$server_deb" Depends 'libsqlite3-0'
expect_field "$server_deb" Depends 'adduser'
control() { dpkg-deb --ctrl-tarfile "$1" | tar -xO "./$2" 2>/dev/null; }
[ "$(control "$agent_deb" conffiles)" = "/etc/keyturn/agent.env" ] || fail "agent conffiles: $(control "$agent_deb" conffiles)"
[ "$(control "$server_deb" conffiles)" = "/etc/keyturn/server.env" ] || fail "server conffiles: $(control "$server_deb" conffiles)"
[ -z "$(control "$cli_deb" conffiles)" ] || fail "the CLI has conffiles"
for deb in "$agent_deb" "$server_deb"; do
  for s in postinst prerm postrm; do
    dpkg-deb --ctrl-tarfile "$deb" | tar -tvf - "./$s" 2>/dev/null | grep -q '^-rwxr-xr-x root/root' \
      || fail "$(basename "$deb"): $s missing or not 0755 root"
  done
done

# --- 4. Data: layout, modes, owners -----------------------------------------------------
step "files: layout, modes, owners"
dpkg-deb -c "$agent_deb" >"$tmp/agent.list"
dpkg-deb -c "$server_deb" >"$tmp/server.list"
dpkg-deb -c "$cli_deb" >"$tmp/cli.list"
expect_entry() {  # LIST MODE PATH
  local line
  line=$(awk -v p="./$3" '$6 == p' "$1")
  [ -n "$line" ] || { fail "$(basename "$1" .list): no $3"; return; }
  [ "$(awk '{print $1 " " $2}' <<<"$line")" = "$2 root/root" ] || fail "$(basename "$1" .list): $3 is '$line', expected $2 root/root"
}
expect_entry "$tmp/agent.list" -rwxr-xr-x usr/bin/keyturn-agent
for p in device script app; do
  expect_entry "$tmp/agent.list" -rw-r--r-- "usr/lib/keyturn/plugins/keyturn_$p.so"
  expect_entry "$tmp/agent.list" -rw-r--r-- "usr/lib/keyturn/plugins/keyturn_$p.json"
done
expect_entry "$tmp/agent.list" -rw-r--r-- lib/systemd/system/keyturn-agent.service
expect_entry "$tmp/agent.list" drwxr-x--- etc/keyturn/
expect_entry "$tmp/agent.list" -rw-r--r-- etc/keyturn/agent.env
expect_entry "$tmp/agent.list" -rw-r--r-- usr/share/doc/keyturn-agent/copyright
expect_entry "$tmp/agent.list" -rw-r--r-- usr/share/man/man8/keyturn-agent.8.gz
expect_entry "$tmp/server.list" -rwxr-xr-x usr/bin/keyturn-server
expect_entry "$tmp/server.list" -rw-r--r-- lib/systemd/system/keyturn-server.service
expect_entry "$tmp/server.list" drwxr-x--- etc/keyturn/
expect_entry "$tmp/server.list" -rw-r--r-- etc/keyturn/server.env
expect_entry "$tmp/cli.list" -rwxr-xr-x usr/bin/keyturn
if [ -f "$src/web/index.html" ]; then
  expect_entry "$tmp/server.list" -rw-r--r-- usr/share/keyturn/web/index.html
fi
# The enrollment is written by `keyturn-agent enroll` (it refuses an existing file):
# never shipped. No state is shipped either: postinst makes the folders.
grep -q 'etc/keyturn/agent.conf$' "$tmp/agent.list" && fail "agent.conf is shipped; enroll would refuse to run"
grep -q 'var/lib' "$tmp/agent.list" "$tmp/server.list" && fail "a package ships files under /var/lib"
grep -qv ' root/root ' "$tmp/agent.list" "$tmp/server.list" "$tmp/cli.list" && fail "a file not owned by root/root"
# Each program in exactly one package.
grep -q 'usr/bin/keyturn-server' "$tmp/agent.list" "$tmp/cli.list" && fail "keyturn-server in the wrong package"
grep -q 'plugins' "$tmp/server.list" "$tmp/cli.list" && fail "plugins in the wrong package"

# --- 5. Units -------------------------------------------------------------------------
step "systemd units"
x="$tmp/extract"
mkdir -p "$x"
for deb in "$agent_deb" "$server_deb" "$cli_deb"; do dpkg-deb -x "$deb" "$x"; done
require() {  # UNIT LINE...
  local unit=$1; shift
  for l in "$@"; do grep -qxF "$l" "$x/lib/systemd/system/$unit" || fail "$unit lacks '$l'"; done
}
require keyturn-server.service 'User=keyturn' 'NoNewPrivileges=yes' 'ProtectSystem=strict' \
  'ReadWritePaths=/var/lib/keyturn-server' 'ProtectHome=yes' 'PrivateTmp=yes' 'PrivateDevices=yes' \
  'CapabilityBoundingSet=' 'RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX' 'SystemCallFilter=@system-service' \
  'ConditionPathExists=/var/lib/keyturn-server/keyturn-server.properties' \
  'ExecStart=/usr/bin/keyturn-server run --data /var/lib/keyturn-server $KEYTURN_SERVER_OPTS'
require keyturn-agent.service 'NoNewPrivileges=yes' 'PrivateTmp=yes' 'ConditionPathExists=/etc/keyturn/agent.conf' \
  'ExecStart=/usr/bin/keyturn-agent run --config /etc/keyturn/agent.conf $KEYTURN_AGENT_OPTS'
grep -q '^User=' "$x/lib/systemd/system/keyturn-agent.service" && fail "the agent unit sets User= (its actions need root)"
if command -v systemd-analyze >/dev/null; then
  # Verified against this machine's systemd, with ExecStart= pointing at the extracted
  # binaries (verify checks that they exist and are executable).
  mkdir -p "$tmp/units"
  for u in keyturn-agent keyturn-server; do
    sed "s|/usr/bin/|$x/usr/bin/|" "$x/lib/systemd/system/$u.service" >"$tmp/units/$u.service"
    if ! systemd-analyze verify --man=no "$tmp/units/$u.service" >"$tmp/verify.log" 2>&1; then
      cat "$tmp/verify.log" >&2
      fail "systemd-analyze verify $u.service"
    elif [ -s "$tmp/verify.log" ]; then
      sed "s/^/   $u: /" "$tmp/verify.log"
    fi
  done
else
  echo "   systemd-analyze not available: units not verified"
fi
for b in keyturn-server keyturn-agent keyturn; do
  "$x/usr/bin/$b" --help >/dev/null 2>&1 || fail "the packaged (stripped) $b does not run"
done
# Hardening, what lintian's hardening-* tags look for: every packaged binary and plugin
# is position-independent, has full RELRO (BIND_NOW) and the stack protector. The two
# daemons call fortified libc functions (__*_chk, where the compiler knew a buffer's
# size); the CLI and the plugins are built the same way but happen to make no such call,
# so the binary cannot show it.
for f in "$x"/usr/bin/keyturn-server "$x"/usr/bin/keyturn-agent "$x"/usr/bin/keyturn \
  "$x"/usr/lib/keyturn/plugins/*.so; do
  name=${f#"$x"/}
  dyn=$(readelf -d "$f") || fail "readelf cannot read $name"
  grep -Eq 'BIND_NOW|FLAGS_1.*NOW' <<<"$dyn" || fail "$name is not linked with -z now (no BIND_NOW)"
  readelf -lW "$f" | grep -q GNU_RELRO || fail "$name has no RELRO segment"
  [[ $f == *.so ]] || readelf -h "$f" | grep -q 'DYN (' || fail "$name is not PIE"
  syms=$(readelf --dyn-syms -W "$f")
  grep -q '__stack_chk_fail' <<<"$syms" || fail "$name is not built with the stack protector"
  [[ $name == usr/bin/keyturn-server || $name == usr/bin/keyturn-agent ]] || continue
  grep -Eq '__[a-z0-9_]+_chk@' <<<"$syms" || fail "$name calls no fortified function (_FORTIFY_SOURCE)"
done
echo "   hardening: PIE, full RELRO, stack protector everywhere; fortified calls in both daemons"

# --- 6. dpkg into a throwaway root --------------------------------------------------------
step "dpkg -i / --remove / --purge into a temporary root"
fake="$tmp/fakebin"
calls="$tmp/calls.log"
mkdir -p "$fake"
: >"$calls"
# With DPKG_ROOT set the scripts manage users with useradd/userdel/groupdel --prefix
# ROOT. These fakes do what the real ones do to ROOT/etc/passwd and ROOT/etc/group (the
# real ones need root and shadow files), and record their arguments.
cat >"$fake/useradd" <<FAKE
#!/bin/sh
echo "useradd \$*" >>"$calls"
[ "\$1" = --prefix ] || { echo "fake useradd: not under a --prefix" >&2; exit 1; }
for a; do name=\$a; done
mkdir -p "\$2/etc"
echo "\$name:x:998:997::/var/lib/keyturn-server:/usr/sbin/nologin" >>"\$2/etc/passwd"
echo "\$name:x:997:" >>"\$2/etc/group"
FAKE
for t in userdel groupdel; do
  file=passwd
  [ "$t" = groupdel ] && file=group
  cat >"$fake/$t" <<FAKE
#!/bin/sh
echo "$t \$*" >>"$calls"
[ "\$1" = --prefix ] || { echo "fake $t: not under a --prefix" >&2; exit 1; }
grep -v "^\$3:" "\$2/etc/$file" >"\$2/etc/$file.tmp" || true
mv "\$2/etc/$file.tmp" "\$2/etc/$file"
FAKE
done
# Tools that act on the running system: recorded only (adduser/deluser must not run at
# all under DPKG_ROOT; the test checks that).
for t in adduser deluser delgroup systemctl deb-systemd-helper deb-systemd-invoke; do
  cat >"$fake/$t" <<FAKE
#!/bin/sh
echo "$t \$*" >>"$calls"
case "\$*" in *was-enabled*) exit 1 ;; esac
exit 0
FAKE
done
chmod 0755 "$fake"/*
for t in useradd userdel groupdel adduser deluser delgroup systemctl deb-systemd-helper deb-systemd-invoke; do
  [ "$(PATH="$fake:$PATH" command -v "$t")" = "$fake/$t" ] || die "the fake $t is not first on PATH"
done
root="$tmp/root"
mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" "$root/var/lib/dpkg/triggers"
: >"$root/var/lib/dpkg/status"
run_dpkg() {
  PATH="$fake:$PATH" "${as_root[@]}" dpkg --root="$root" --force-script-chrootless --force-not-root \
    --force-depends --log=/dev/null "$@" </dev/null >>"$tmp/dpkg.log" 2>&1 \
    || { cat "$tmp/dpkg.log" >&2; die "dpkg $*"; }
}
mode() { stat -c %a "$1"; }
expect_mode() { [ -e "$2" ] || { fail "${2#$root} missing"; return; }; [ "$(mode "$2")" = "$1" ] || fail "${2#$root} has mode $(mode "$2"), expected $1"; }

run_dpkg -i "$agent_deb" "$server_deb" "$cli_deb"
status=$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package} ${Status}\n' | sort)
[ "$status" = "keyturn install ok installed
keyturn-agent install ok installed
keyturn-server install ok installed" ] || fail "dpkg status after install: $status"
dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Conffiles}\n' keyturn-server | grep -q '^ /etc/keyturn/server.env [0-9a-f]\{32\}$' \
  || fail "dpkg does not record /etc/keyturn/server.env as a conffile"
expect_mode 755 "$root/usr/bin/keyturn-agent"
expect_mode 755 "$root/usr/bin/keyturn-server"
expect_mode 755 "$root/usr/bin/keyturn"
expect_mode 644 "$root/usr/lib/keyturn/plugins/keyturn_device.so"
expect_mode 750 "$root/etc/keyturn"
expect_mode 644 "$root/etc/keyturn/server.env"
expect_mode 700 "$root/var/lib/keyturn"
expect_mode 700 "$root/var/lib/keyturn-server"
expect_mode 644 "$root/lib/systemd/system/keyturn-agent.service"
grep -qxF "useradd --prefix $root --system --user-group --no-create-home --home-dir /var/lib/keyturn-server --shell /usr/sbin/nologin --comment Keyturn coordinator keyturn" "$calls" \
  || fail "postinst did not create the system user keyturn in the root: $(cat "$calls")"
grep -q '^keyturn:x:998:997:' "$root/etc/passwd" || fail "no keyturn user in the root's passwd"
if [ "$(id -u)" -eq 0 ]; then
  [ "$(stat -c %u:%g "$root/var/lib/keyturn-server")" = 998:997 ] || fail "the data folder is not keyturn's"
fi
grep -Eq '^(adduser|deluser|delgroup) ' "$calls" && fail "a maintainer script touched the running system's users under DPKG_ROOT"
grep -qxF "deb-systemd-helper update-state keyturn-agent.service" "$calls" || fail "the agent unit was not registered"
grep -qxF "deb-systemd-helper update-state keyturn-server.service" "$calls" || fail "the server unit was not registered"
grep -E '^(systemctl|deb-systemd-invoke) .*(start|restart)' "$calls" && fail "a maintainer script started a service before it was configured"
[ "$(grep -c '^useradd ' "$calls")" = 1 ] || fail "useradd called $(grep -c '^useradd ' "$calls") times"

# The administrator's changes survive a reinstall; so do the enrollment and the data.
echo 'KEYTURN_SERVER_OPTS="--port 9443"' >"$root/etc/keyturn/server.env"
echo 'agent.server = https://keyturn.test:8443' >"$root/etc/keyturn/agent.conf"
echo 'secret' >"$root/var/lib/keyturn-server/ca.key"
echo 'secret' >"$root/var/lib/keyturn/device.key"
chmod 0755 "$root/var/lib/keyturn-server"  # a loosened folder is tightened again
run_dpkg -i "$agent_deb" "$server_deb" "$cli_deb"
grep -q 9443 "$root/etc/keyturn/server.env" || fail "reinstall replaced the modified conffile server.env"
[ -f "$root/etc/keyturn/agent.conf" ] && [ -f "$root/var/lib/keyturn-server/ca.key" ] && [ -f "$root/var/lib/keyturn/device.key" ] \
  || fail "reinstall lost the enrollment or the data"
expect_mode 700 "$root/var/lib/keyturn-server"
[ "$(grep -c '^useradd ' "$calls")" = 1 ] || fail "reinstall created the user again"

# remove: programs go, configuration, state and the user stay.
run_dpkg --remove keyturn-agent keyturn-server
[ ! -e "$root/usr/bin/keyturn-agent" ] && [ ! -e "$root/usr/bin/keyturn-server" ] || fail "remove left the programs"
[ ! -e "$root/lib/systemd/system/keyturn-server.service" ] || fail "remove left the unit"
[ -f "$root/etc/keyturn/server.env" ] && [ -f "$root/etc/keyturn/agent.conf" ] || fail "remove deleted configuration"
[ -f "$root/var/lib/keyturn-server/ca.key" ] && [ -f "$root/var/lib/keyturn/device.key" ] || fail "remove deleted state"
grep -q '^userdel ' "$calls" && fail "remove deleted the user"
grep -q '^keyturn:' "$root/etc/passwd" || fail "remove deleted the user"
[ -x "$root/usr/bin/keyturn" ] || fail "removing the daemons removed the CLI"

# purge: state, enrollment, configuration and the user go.
run_dpkg --purge keyturn-agent keyturn-server
[ ! -e "$root/var/lib/keyturn" ] || fail "purge left /var/lib/keyturn"
[ ! -e "$root/var/lib/keyturn-server" ] || fail "purge left /var/lib/keyturn-server"
[ ! -e "$root/etc/keyturn" ] || fail "purge left /etc/keyturn: $(ls -A "$root/etc/keyturn")"
grep -qxF "userdel --prefix $root keyturn" "$calls" || fail "purge did not delete the user keyturn"
grep -q '^keyturn:' "$root/etc/passwd" "$root/etc/group" && fail "purge left keyturn in the root's passwd or group"
grep -qxF "deb-systemd-helper purge keyturn-server.service" "$calls" || fail "purge did not forget the server unit's state"
run_dpkg --purge keyturn
[ -z "$(dpkg-query --admindir="$root/var/lib/dpkg" -W -f='${Package}\n' 2>/dev/null | grep keyturn || true)" ] \
  || fail "packages left in the root's dpkg database"

# --- 7. install.sh --------------------------------------------------------------------
step "installers/linux/install.sh into temporary roots"
install_sh="$src/installers/linux/install.sh"
: >"$calls"
r2="$tmp/root2"
PATH="$fake:$PATH" sh "$install_sh" --tarball "$tarball" --root "$r2" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "install.sh --root"; }
expect_mode 755 "$r2/usr/bin/keyturn-agent"
expect_mode 755 "$r2/usr/bin/keyturn-server"
expect_mode 755 "$r2/usr/bin/keyturn"
for p in device script app; do
  expect_mode 644 "$r2/usr/lib/keyturn/plugins/keyturn_$p.so"
  expect_mode 644 "$r2/usr/lib/keyturn/plugins/keyturn_$p.json"
done
expect_mode 750 "$r2/etc/keyturn"
expect_mode 644 "$r2/etc/keyturn/agent.env"
expect_mode 644 "$r2/etc/keyturn/server.env"
expect_mode 700 "$r2/var/lib/keyturn"
expect_mode 700 "$r2/var/lib/keyturn-server"
expect_mode 644 "$r2/etc/systemd/system/keyturn-server.service"
cmp -s "$r2/etc/systemd/system/keyturn-server.service" "$x/lib/systemd/system/keyturn-server.service" \
  || fail "install.sh's server unit differs from the package's"
grep -qxF "useradd --prefix $r2 --system --user-group --no-create-home --home-dir /var/lib/keyturn-server --shell /usr/sbin/nologin keyturn" "$calls" \
  || fail "install.sh did not create the user keyturn in the root: $(cat "$calls")"
if [ "$(id -u)" -eq 0 ]; then
  [ "$(stat -c %u:%g "$r2/var/lib/keyturn-server")" = 998:997 ] || fail "install.sh did not give the data folder to keyturn"
fi
grep -Eq '^(systemctl|deb-systemd-invoke) ' "$calls" && fail "install.sh --root touched systemd"
# Again, with the administrator's change: kept, the shipped file beside it; user not re-made.
echo 'KEYTURN_SERVER_OPTS="--port 9443"' >"$r2/etc/keyturn/server.env"
PATH="$fake:$PATH" sh "$install_sh" --tarball "$tarball" --root "$r2" >"$tmp/install.log" 2>&1 \
  || { cat "$tmp/install.log" >&2; fail "install.sh --root (again)"; }
grep -q 9443 "$r2/etc/keyturn/server.env" || fail "install.sh replaced a modified server.env"
cmp -s "$r2/etc/keyturn/server.env.new" "$x/etc/keyturn/server.env" || fail "install.sh did not put the new server.env beside it"
[ "$(grep -c '^useradd ' "$calls")" = 1 ] || fail "install.sh created the user twice"
# Another prefix, the agent only.
r3="$tmp/root3"
PATH="$fake:$PATH" sh "$install_sh" --tarball "$tarball" --root "$r3" --prefix /opt/keyturn --components agent \
  >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log" >&2; fail "install.sh --prefix"; }
expect_mode 755 "$r3/opt/keyturn/bin/keyturn-agent"
expect_mode 644 "$r3/opt/keyturn/lib/keyturn/plugins/keyturn_script.so"
grep -qxF 'ExecStart=/opt/keyturn/bin/keyturn-agent run --config /etc/keyturn/agent.conf $KEYTURN_AGENT_OPTS' \
  "$r3/etc/systemd/system/keyturn-agent.service" || fail "install.sh --prefix: ExecStart does not follow the prefix"
grep -q -- '--plugins /opt/keyturn/lib/keyturn/plugins' "$tmp/install.log" || fail "install.sh --prefix does not tell to enroll with --plugins"
[ ! -e "$r3/opt/keyturn/bin/keyturn-server" ] && [ ! -e "$r3/var/lib/keyturn-server" ] || fail "--components agent installed the server"
[ "$(grep -c '^useradd ' "$calls")" = 1 ] || fail "--components agent created a user"
# Bad input: a clear error naming the option, nothing installed.
bad() {  # EXPECTED-TEXT ARGS...
  local want=$1; shift
  if PATH="$fake:$PATH" sh "$install_sh" "$@" >"$tmp/bad.log" 2>&1; then
    fail "install.sh $* succeeded"
  elif ! grep -Eq -- "$want" "$tmp/bad.log"; then
    fail "install.sh $*: expected '$want' in: $(cat "$tmp/bad.log")"
  fi
}
bad "--prefix must be an absolute path" --tarball "$tarball" --root "$tmp/r4" --prefix opt
bad "unknown component web" --tarball "$tarball" --root "$tmp/r4" --components agent,web
bad "no such file" --tarball "$tmp/none.tar.gz" --root "$tmp/r4"
bad "unknown option --force" --tarball "$tarball" --force
echo junk | gzip >"$tmp/junk.tar.gz"
bad "cannot extract|not a Keyturn tarball" --tarball "$tmp/junk.tar.gz" --root "$tmp/r4"
[ ! -e "$tmp/r4" ] || fail "a refused install.sh wrote into the root"

if [ "$failures" -ne 0 ]; then
  echo "packages: $failures check(s) failed" >&2
  exit 1
fi
echo "packages: all checks passed"
