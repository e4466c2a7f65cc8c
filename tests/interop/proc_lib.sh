# shellcheck shell=bash
# proc_lib.sh: process and fog-daemon helpers that the interop drivers and the benchmarks share
# (sourced through js-peer/peer_lib.sh, which every one of them sources).
#   wait_line FILE PATTERN [TENTHS]   wait until grep finds PATTERN in FILE (default 5 s); 1 if not
#   stop_pids PID...                  SIGTERM them all, wait up to 10 s for each, then SIGKILL and
#                                     reap it (empty arguments are skipped)
#   peer_id REPO                      the PeerID of a fog repository (from its config)
#   listen_addr PREFIX                the first loopback "listening on" multiaddr (with /p2p) a fog
#                                     daemon printed into PREFIX.out
wait_line() {
    local i
    for ((i = 0; i < ${3:-50}; i++)); do
        grep -q -- "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}

stop_pids() {
    local p i
    for p in "$@"; do
        [ -z "$p" ] || kill -TERM "$p" 2>/dev/null || true
    done
    for p in "$@"; do
        [ -n "$p" ] || continue
        for ((i = 0; i < 100; i++)); do
            kill -0 "$p" 2>/dev/null || break
            sleep 0.1
        done
        kill -9 "$p" 2>/dev/null || true
        wait "$p" 2>/dev/null || true
    done
}

peer_id() {
    sed -n 's/^ *"PeerID": "\(.*\)",\{0,1\}$/\1/p' "$1/config"
}

listen_addr() {
    sed -n "s|^listening on \(/ip4/127.0.0.1/tcp/[1-9][0-9]*/p2p/.*\)$|\1|p" "$1.out" | head -n 1
}
