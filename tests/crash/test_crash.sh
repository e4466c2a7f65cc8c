#!/usr/bin/env bash
# test_crash.sh: kill -9 during `fog add` must never hurt the repository.
# The store promises (include/fog/store.h, src/store/repo.c): LMDB commits are atomic and
# durable; an add is acknowledged only by its final commit, which also writes the pin; puts
# committed before that (one commit per FOG_STORE_BATCH_BYTES) may stay behind as unpinned blocks
# that gc removes; the repository lock is an flock, so the kernel drops it with the killed
# process. This test holds the store to that: it pins some earlier content, then many times
# starts an add of a large file and kills it at a random moment spread over the add's measured
# duration (a third early, a third mid-way, a third near the commit). After every kill:
# `repo stat` answers at once (no stale lock), `repo verify` passes, every earlier pin is still
# listed and cats to the same SHA-256, and the big file is either not pinned or pinned whole.
# gc after a kill goes back to the earlier block count; the last rounds skip gc so leftovers pile
# up, and at the end gc must remove them, a full add must succeed and give the same CID and bytes.
# Env: FOG_BIN (the CLI), FOG_CRASH_MIB (big file size, default 256), FOG_CRASH_ROUNDS
# (default 24), FOG_CRASH_SEED (the random seed; printed so a failure can be replayed).
set -u
export LC_ALL=C
FOG=${FOG_BIN:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)/build/fog}
MIB=${FOG_CRASH_MIB:-256}
ROUNDS=${FOG_CRASH_ROUNDS:-24}
NOGC_ROUNDS=6 # the last rounds leave their leftovers for the final gc
SEED=${FOG_CRASH_SEED:-$$}
RANDOM=$SEED
T=$(mktemp -d /tmp/fog-crash-test.XXXXXX)
trap 'kill -9 "${ADD_PID:-}" 2>/dev/null; rm -rf "$T"' EXIT
export FOG_PATH="$T/repo"
PASS=0
FAILS=0
ADD_PID=

ok() { PASS=$((PASS + 1)); echo "ok - $*"; }
bad() { FAILS=$((FAILS + 1)); echo "FAIL - $*"; }
check() { # check DESC CMD...: the command succeeds (within 60 s: a stale lock would hang)
    local desc=$1
    shift
    if timeout 60 "$@" >"$T/out" 2>"$T/err"; then
        ok "$desc"
    else
        bad "$desc (exit $?): $(head -c 300 "$T/err")"
        return 1
    fi
}
finish() {
    echo "$PASS passed, $FAILS failed"
    [ "$FAILS" -eq 0 ]
}
now_ms() { echo $((${EPOCHREALTIME/./} / 1000)); }
# gen FILE MIB KEY: deterministic incompressible bytes (AES-128-CTR keystream of KEY, zero IV).
gen() {
    head -c $(($2 * 1048576)) /dev/zero |
        openssl enc -aes-128-ctr -nosalt -K "$3" -iv 00000000000000000000000000000000 >"$1"
}
sha() { sha256sum | cut -d' ' -f1; }
blocks() { timeout 60 "$FOG" repo stat 2>/dev/null | awk '$1 == "blocks:" {print $2}'; }

[ -x "$FOG" ] || { echo "FAIL - no fog binary at $FOG"; exit 1; }
echo "# seed $SEED, big file $MIB MiB, $ROUNDS rounds, repo $FOG_PATH"
check "init" "$FOG" init || { finish; exit 1; }

# Earlier content, pinned by add: one block, several raw leaves, legacy dag-pb leaves, and a
# small chunker that gives a two-level tree.
printf 'hello world' >"$T/e1"
gen "$T/e2" 3 11111111111111111111111111111111
gen "$T/e3" 5 22222222222222222222222222222222
gen "$T/e4" 2 33333333333333333333333333333333
ECIDS=()
ESHAS=()
add_earlier() { # add_earlier FILE ADD-OPTIONS...
    local f=$1
    shift
    if check "add earlier $(basename "$f") $*" "$FOG" add -Q --progress=false "$@" "$f"; then
        ECIDS+=("$(cat "$T/out")")
        ESHAS+=("$(sha <"$f")")
    fi
}
add_earlier "$T/e1"
add_earlier "$T/e2"
add_earlier "$T/e3" --cid-profile unixfs-v0-2015
add_earlier "$T/e4" --chunker size-1024
B0=$(blocks)
echo "# earlier content: ${#ECIDS[@]} pins, $B0 blocks"

timeout 60 "$FOG" pin ls | sort >"$T/pins0"
[ "$(grep -c ' recursive$' "$T/pins0")" = "${#ECIDS[@]}" ] && ok "earlier content pinned" ||
    bad "earlier content pinned: $(cat "$T/pins0")"
# earlier_intact TAG: the pins are those of the earlier content (leaving aside the big file) and
# every earlier CID cats to its bytes.
earlier_intact() {
    local i bad_ones=""
    timeout 60 "$FOG" pin ls >"$T/pins" 2>&1 || bad_ones=" pin ls failed;"
    grep -v "^${BIG:-none} " "$T/pins" | sort | cmp -s - "$T/pins0" || bad_ones+=" pins changed;"
    for i in "${!ECIDS[@]}"; do
        local got
        got=$(timeout 60 "$FOG" cat "${ECIDS[$i]}" 2>/dev/null | sha)
        [ "$got" = "${ESHAS[$i]}" ] || bad_ones+=" ${ECIDS[$i]} cats to other bytes;"
    done
    if [ -z "$bad_ones" ]; then
        ok "$1: earlier content intact"
    else
        bad "$1: earlier content damaged:$bad_ones"
    fi
}

gen "$T/big" "$MIB" 000102030405060708090a0b0c0d0e0f
BIG_SHA=$(sha <"$T/big")
cat "$T/big" >/dev/null

# The add's progress is read from /proc/PID/io: rchar counts the bytes its threads have read
# (fog preads each chunk), so a kill can be placed at a fraction of the file whatever the speed
# of this shared machine. The last FOG_STORE_BATCH_BYTES (8 MiB) of blocks go to disk with the
# final commit, so the time from "all but 8 MiB read" to the process's exit is the window of the
# last batch and the commit. The measuring adds time it. Kills near the commit land either while
# the last 8 MiB are read, or at a random moment up to half a window after the last byte was
# read (some before the commit, some during it, some after the process is gone).
SIZE=$((MIB * 1048576))
LAST=$((SIZE - 8 * 1048576))
# wait_read PID BYTES: returns when PID has read BYTES, has exited or a minute has passed.
wait_read() {
    local k v state limit=$((${EPOCHREALTIME/./} / 1000 + 60000))
    while [ $((${EPOCHREALTIME/./} / 1000)) -lt $limit ]; do
        state=Z
        RCHAR=0
        {
            read -r _ _ state _ </proc/"$1"/stat
            while read -r k v; do
                [ "$k" = rchar: ] && RCHAR=$v && break
            done </proc/"$1"/io
        } 2>/dev/null
        if [ "$state" = Z ] || [ "$RCHAR" -ge "$2" ]; then
            return 0
        fi
        sleep 0.002
    done
}

# Two full adds first, in the background to time their last window (the first also grows the
# LMDB file, which later adds reuse after gc: the second's window counts); the CID is the
# reference. Each is unpinned and gc'd, so every round starts from the earlier content alone.
for m in 1 2; do
    t0=$(now_ms)
    "$FOG" add -Q --progress=false "$T/big" >"$T/out" 2>"$T/err" &
    ADD_PID=$!
    wait_read "$ADD_PID" "$LAST"
    t1=$(now_ms)
    wait "$ADD_PID"
    status=$?
    ADD_PID=
    t2=$(now_ms)
    D=$((t2 - t0))
    WINDOW=$((t2 - t1 < 10 ? 10 : t2 - t1))
    if [ "$status" -ne 0 ]; then
        bad "full add $m of the big file: exit $status: $(head -c 300 "$T/err")"
        finish
        exit 1
    fi
    ok "full add $m of the big file (measure)"
    BIG=$(cat "$T/out")
    echo "# full add $m of $MIB MiB took $D ms, the last 8 MiB and commit $((t2 - t1)) ms: $BIG"
    check "unpin the big file" "$FOG" pin rm "$BIG"
    check "gc after measuring add $m" "$FOG" gc
    n=$(blocks)
    [ "$n" = "$B0" ] && ok "gc back to $B0 blocks" || bad "gc left $n blocks, want $B0"
done

# big_consistent TAG: the big file is either not pinned, or pinned with every byte there
# (the kill came after the commit). A pinned one is unpinned again for the next round.
big_consistent() {
    if ! grep -q "^$BIG " "$T/pins"; then
        ok "$1: big file not pinned (commit never happened)"
        return
    fi
    local got
    got=$(timeout 120 "$FOG" cat "$BIG" 2>/dev/null | sha)
    if [ "$got" = "$BIG_SHA" ]; then
        ok "$1: big file pinned and whole (killed after the commit)"
    else
        bad "$1: big file pinned but its bytes are wrong or missing"
    fi
    timeout 60 "$FOG" pin rm "$BIG" >/dev/null 2>&1 || bad "$1: pin rm of the big file"
}

early=0 mid=0 late=0 finished=0
for ((r = 1; r <= ROUNDS; r++)); do
    # Three bands: early (first 30 % of the bytes read), mid-way (30-85 %), and near the commit:
    # alternately while the last 8 MiB are read, and within half a window after the last byte.
    after=0
    case $((r % 6)) in
    1 | 4) target=$((SIZE / 1000 * (RANDOM % 300))) where="at $((target >> 20)) MiB read" ;;
    2 | 5) target=$((SIZE / 1000 * (300 + RANDOM % 550))) where="at $((target >> 20)) MiB read" ;;
    3)
        target=$((LAST + (RANDOM % 8) * 1048576))
        where="at $((target >> 20)) MiB read (last batch)"
        ;;
    0)
        target=$SIZE
        after=$((RANDOM % (WINDOW / 2)))
        where="$after ms after the last read (window ~$WINDOW ms)"
        ;;
    esac
    "$FOG" add -Q --progress=false "$T/big" >/dev/null 2>&1 &
    ADD_PID=$!
    wait_read "$ADD_PID" "$target"
    [ "$after" -eq 0 ] || sleep "$(printf '%d.%03d' $((after / 1000)) $((after % 1000)))"
    kill -9 "$ADD_PID" 2>/dev/null
    wait "$ADD_PID" 2>/dev/null # no "Killed" line from bash
    status=$?
    ADD_PID=
    how="killed"
    if [ "$status" -eq 0 ]; then
        how="finished before the kill"
        finished=$((finished + 1))
    elif [ "$status" -ne 137 ]; then
        bad "round $r: add exited $status before the kill"
    fi
    case $((r % 3)) in
    1) early=$((early + 1)) ;;
    2) mid=$((mid + 1)) ;;
    0) [ "$status" -eq 0 ] || late=$((late + 1)) ;;
    esac
    tag="round $r (kill $where, $how)"
    check "$tag: repo stat opens the repository" "$FOG" repo stat
    check "$tag: repo verify" "$FOG" repo verify
    earlier_intact "$tag"
    big_consistent "$tag"
    if [ "$r" -le $((ROUNDS - NOGC_ROUNDS)) ]; then
        check "$tag: gc" "$FOG" gc -q
        n=$(blocks)
        [ "$n" = "$B0" ] && ok "$tag: gc back to $B0 blocks" ||
            bad "$tag: $n blocks after gc, want $B0"
    fi
done
echo "# kills: $early early, $mid mid-way, $late near the commit; $finished adds finished first"

# The end: leftovers of the last killed adds are in the store until gc removes them.
B1=$(blocks)
[ "$B1" -gt "$B0" ] && ok "killed adds left blocks for gc ($B1 blocks, earlier content $B0)" ||
    bad "no leftovers before the final gc ($B1 blocks, earlier content $B0)"
check "final gc" "$FOG" gc
n=$(blocks)
[ "$n" = "$B0" ] && ok "final gc removed the leftovers ($B1 -> $n blocks)" ||
    bad "final gc left $n blocks, want $B0 (had $B1)"
check "final full add" "$FOG" add -Q --progress=false "$T/big"
[ "$(cat "$T/out")" = "$BIG" ] && ok "final add gives the same CID" ||
    bad "final add CID $(cat "$T/out") != $BIG"
[ "$(timeout 120 "$FOG" cat "$BIG" | sha)" = "$BIG_SHA" ] && ok "final add cats to the bytes" ||
    bad "final add does not cat to the file's bytes"
check "final repo verify" "$FOG" repo verify
earlier_intact "final"
finish
