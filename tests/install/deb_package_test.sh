#!/usr/bin/env bash
# Builds the Debian package with CPack into a temporary folder and checks it with dpkg-deb:
# its name, the files it ships, and that Depends lists exactly the shared libraries the binary
# needs (one Debian package per library ldd names, nothing else).
#   tests/install/deb_package_test.sh BUILD_DIR VERSION
# Exits 77 (skipped) without dpkg-deb / dpkg-shlibdeps (not a Debian machine).
set -euo pipefail
build=$1
version=$2
for tool in cpack dpkg-deb dpkg-shlibdeps dpkg-query ldd objdump file; do
    command -v "$tool" >/dev/null || { echo "deb package test: $tool not found; skipping"; exit 77; }
done
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

(cd "$build" && cpack -G DEB -B "$out" >"$out/cpack.log" 2>&1) || { cat "$out/cpack.log" >&2; fail "cpack"; }
arch=$(dpkg --print-architecture)
deb=$out/hearth_${version}_${arch}.deb
[ -f "$deb" ] || fail "no $deb; cpack wrote: $(ls "$out")"

files=$(dpkg-deb -c "$deb" | awk '{print $6}')
for f in ./usr/bin/hearth ./usr/lib/systemd/system/hearth.service ./usr/share/hearth/hearth.default \
         ./usr/share/doc/hearth/deploy.md ./usr/share/bash-completion/completions/hearth; do
    grep -qx "$f" <<<"$files" || fail "the package lacks $f"
done
dpkg-deb -e "$deb" "$out/control"
[ -x "$out/control/postinst" ] || fail "no postinst"
dpkg-deb -x "$deb" "$out/root"
grep -qx 'ExecStart=/usr/bin/hearth serve .*' "$out/root/usr/lib/systemd/system/hearth.service" ||
    fail "unit ExecStart: $(grep ExecStart "$out/root/usr/lib/systemd/system/hearth.service")"

# Depends, package names only, against the packages owning the libraries the binary links directly.
depends=$(dpkg-deb -f "$deb" Depends | tr ',' '\n' | sed 's/(.*//; s/ //g' | grep -v '^$' | sort -u)
needed=$(objdump -p "$build/bin/hearth" | awk '/NEEDED/{print $2}')
expected=$(for lib in $needed; do
    path=$(ldd "$build/bin/hearth" | awk -v l="$lib" '$1 == l {print $3}')
    [ -n "$path" ] || continue
    dpkg-query -S "$(readlink -f "$path")" 2>/dev/null || dpkg-query -S "$path" 2>/dev/null
done | cut -d: -f1 | sort -u)
[ -n "$expected" ] || fail "could not map the binary's libraries to packages"
[ "$depends" = "$expected" ] || fail "Depends is
$depends
but the binary's libraries come from
$expected"
echo "ok - Depends: $(echo $depends)"
echo "deb package test: all passed"
