#!/usr/bin/env bash
# Installs what fog needs on Debian 12 when it is missing: the build dependencies always, and with
# --test also what the tests and benchmarks use (clang for fuzzing, the npm packages pinned in
# tests/interop/package-lock.json with their own Node 22). Quiet when everything is present.
set -euo pipefail
cd "$(dirname "$0")/.."

pkgs=(build-essential cmake pkg-config libuv1-dev libsodium-dev libssl-dev liblmdb-dev
      libprotobuf-c-dev protobuf-c-compiler libh2o-dev libjansson-dev libqrencode-dev)
if [ "${1:-}" = "--test" ] || [ "${1:-}" = "--fuzz" ]; then
  pkgs+=(libcmocka-dev clang libclang-rt-14-dev openssl procps time util-linux curl)
  # A machine may have node and npm from elsewhere (Debian's npm would conflict with them).
  command -v npm >/dev/null 2>&1 || pkgs+=(npm)
fi

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# npm ci in dir only when its lock file changed since the last install.
npm_ci() {
  local dir=$1 stamp=$1/node_modules/.fog-lock-stamp
  if [ ! -f "$stamp" ] || ! cmp -s "$dir/package-lock.json" "$stamp"; then
    echo "deps: installing npm packages for $dir" >&2
    local log
    log=$(mktemp)
    (cd "$dir" && npm ci --no-audit --no-fund --loglevel=error >"$log" 2>&1) ||
      { cat "$log" >&2; rm -f "$log"; echo "deps: npm ci failed in $dir" >&2; exit 1; }
    rm -f "$log"
    cp "$dir/package-lock.json" "$stamp"
  fi
}
if [ "${1:-}" = "--test" ]; then
  npm_ci tests/interop          # UnixFS and CAR (ipfs-unixfs-importer, @ipld/car, ...)
  npm_ci tests/interop/js-peer  # js-libp2p for the connection-stack tests
  npm_ci tests/interop/helia-peer  # helia 7 for the find-and-fetch tests and bench/fetch
fi
