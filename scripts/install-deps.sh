#!/usr/bin/env bash
# Installs what hearth needs on Debian 12, from Debian's own packages. Skips apt entirely when
# everything is already there.
#   scripts/install-deps.sh          what building and running need (make, make demo, make package)
#   scripts/install-deps.sh --test   that plus the tools only the test suite uses (make test)
set -euo pipefail

packages=(
  build-essential cmake pkg-config      # compiler and build; dpkg-dev (in build-essential) for make package
  file                                  # make package: CPack finds the binaries for dpkg-shlibdeps with it
  nlohmann-json3-dev                    # JSON: info --json, test fixtures
  libcli11-dev                          # command-line flags
  libfmt-dev                            # formatting of messages
  libgtest-dev                          # unit tests (GoogleTest), built with the default build
  libedit-dev                           # line editing and history in `hearth chat`
  libcpp-httplib-dev                    # HTTP server of `hearth serve`, client of eval-cost --target
  libcurl4-openssl-dev                  # HTTPS downloads for `hearth pull`, `hearth ps`
  # The web page of `hearth serve` embeds these at build time (versions pinned by Debian 12):
  libjs-marked                          #   Markdown rendering of answers
  node-dompurify                        #   sanitising that rendered HTML
  libjs-highlight.js                    #   code highlighting in answers
)
case "${1:-}" in
  "") ;;
  --test)
    packages+=(
      curl                              # integration tests of `hearth serve`
      tmux                              # terminal-driven test of `hearth chat` (tests/tmux)
      chromium                          # headless test of the eval-cost HTML report; browser test of the web page
      clang libclang-rt-14-dev          # libFuzzer target for the GGUF reader
      nginx                             # two replicas behind deploy/nginx/hearth.conf (balancer test)
      python3-yaml                      # parses deploy/kubernetes/*.yaml (deploy_files test)
    )
    # Node.js and npm run the `hearth serve` integration test (official openai/ollama npm clients).
    # Only from Debian when no node/npm is on the machine: a NodeSource nodejs already bundles npm,
    # and Debian's npm package would conflict with it.
    if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
      packages+=(nodejs npm)
    fi
    ;;
  *) echo "install-deps: unknown option '$1' (use no option, or --test)" >&2; exit 2 ;;
esac

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]} == 0)); then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "install-deps: installing ${missing[*]}"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
