#!/usr/bin/env bash
# `cmake --install` into a temporary prefix, then the installed files are checked and the
# installed binary is run: --version names the version and commit, the systemd unit points at
# the installed binary (and passes `systemd-analyze verify` where systemd is present), the bash
# completion lists subcommands.
#   tests/install/install_test.sh BUILD_DIR VERSION
set -euo pipefail
build=$1
version=$2
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

cmake --install "$build" --prefix "$prefix" >/dev/null
for f in bin/hearth share/doc/hearth/README.md share/doc/hearth/serve.md share/doc/hearth/deploy.md \
         lib/systemd/system/hearth.service share/hearth/hearth.default share/bash-completion/completions/hearth; do
    [ -f "$prefix/$f" ] || fail "not installed: $f"
done
[ -x "$prefix/bin/hearth" ] || fail "bin/hearth is not executable"

out=$("$prefix/bin/hearth" --version)
[[ $out =~ ^hearth\ ${version//./\\.}\ \(commit\ ([0-9a-f]{7,}(-dirty)?|unknown)\)$ ]] ||
    fail "--version printed '$out'"
# The installed binary works on its own: write and describe a tiny model.
"$prefix/bin/hearth" synth --preset tiny --type F32 -o "$prefix/tiny.gguf" >/dev/null
info=$("$prefix/bin/hearth" info -m "$prefix/tiny.gguf" --json)
grep -q '"architecture": "llama"' <<<"$info" || fail "installed hearth info: $info"

unit=$prefix/lib/systemd/system/hearth.service
grep -qx "ExecStart=$prefix/bin/hearth serve .*" "$unit" || fail "unit ExecStart: $(grep ExecStart "$unit")"
grep -qx "Documentation=file://$prefix/share/doc/hearth/deploy.md" "$unit" || fail "unit Documentation: $(grep Documentation "$unit")"
if command -v systemd-analyze >/dev/null; then
    systemd-analyze verify "$unit" || fail "systemd-analyze verify $unit"
    echo "ok - systemd-analyze verify"
else
    echo "systemd-analyze not found: unit not verified"
fi

subs=$(PATH=$prefix/bin:$PATH bash -c "source '$prefix/share/bash-completion/completions/hearth'
    COMP_WORDS=(hearth se); COMP_CWORD=1; _hearth; echo \${COMPREPLY[*]}")
[ "$subs" = "serve" ] || fail "completion of 'hearth se': '$subs'"
flags=$(PATH=$prefix/bin:$PATH bash -c "source '$prefix/share/bash-completion/completions/hearth'
    COMP_WORDS=(hearth serve --api-); COMP_CWORD=2; _hearth; echo \${COMPREPLY[*]}")
[ "$flags" = "--api-key" ] || fail "completion of 'hearth serve --api-': '$flags'"
echo "install test: all passed"
