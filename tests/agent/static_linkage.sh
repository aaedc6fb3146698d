#!/usr/bin/env bash
# KEYTURN_STATIC_AGENT: keyturn-agent carries Poco, OpenSSL and libstdc++ itself and its
# plugins bind to them, so neither the agent nor any plugin may ask the dynamic loader for
# a shared copy (a second copy maps its pages again and splits Poco's and OpenSSL's global
# state). And the agent exports only what its plugins use (the dynamic list), not every
# symbol it links, which would keep all of them from --gc-sections.
# usage: static_linkage.sh AGENT PLUGIN_DIR EXPORT_LIST
set -euo pipefail
agent=$1 plugin_dir=$2 export_list=$3
forbidden='lib(Poco[A-Za-z]*|ssl|crypto|stdc\+\+)\.so'
fail=0
for elf in "$agent" "$plugin_dir"/*.so; do
  needed=$(readelf -d "$elf" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  if bad=$(grep -E "$forbidden" <<<"$needed"); then
    echo "FAIL: $elf needs $bad"; fail=1
  fi
done
# Every symbol the agent exports is one a plugin uses. Not counted: the linker's markers,
# "u" (STB_GNU_UNIQUE: C++ statics the toolchain always makes unique across a process) and
# libc's variables copied into the executable (versioned, e.g. stdout@GLIBC_2.2.5).
allowed=$(sed -n 's/^  \(.*\);$/\1/p' "$export_list")
while read -r sym; do
  case $sym in _IO_stdin_used|_edata|_end|__bss_start|_init|_fini|*@*) continue ;; esac
  grep -qxF "$sym" <<<"$allowed" || { echo "FAIL: $agent exports $sym, which no plugin uses"; fail=1; }
done < <(nm -D --defined-only "$agent" | awk '$2 != "u" {print $3}')
# And the agent says so to its administrator: `keyturn-agent version` reports OpenSSL and
# Poco as built in, so a security team knows an advisory needs a new agent.
version=$("$agent" version -o json) || { echo "FAIL: $agent version exited $?"; fail=1; }
# Each with the Debian package version it was built from, revision included (advisories
# name those).
for pair in OpenSSL:libssl-dev Poco:libpoco-dev SQLite:libsqlite3-dev Lua:liblua5.4-dev; do
  lib=${pair%%:*} package=${pair#*:}
  want=$(dpkg-query -W -f='${Version}' "$package")
  grep -qF "{\"name\":\"$lib\",\"version\":\"$want\",\"from\":\"keyturn-agent\"}" <<<"$version" \
    || { echo "FAIL: keyturn-agent version does not report $lib $want ($package) as built in: $version"; fail=1; }
done
exported=$(nm -D --defined-only "$agent" | wc -l)
[ "$exported" -gt 0 ] || { echo "FAIL: $agent exports nothing to its plugins"; fail=1; }
[ "$fail" = 0 ] && echo "ok: no shared Poco/OpenSSL/libstdc++; $exported symbols exported to plugins"
exit "$fail"
