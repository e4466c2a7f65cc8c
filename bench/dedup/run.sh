#!/usr/bin/env bash
# run.sh: the `make bench` dedup benchmark (issue 6): what a new version of a folder costs.
# A folder of DEDUP_FILES files (default 100) of 1 MiB random bytes each, on tmpfs (/dev/shm)
# when there is one, else in $FOG_BENCH_DIR, is added (`fog add -r`) to a fresh repository in
# $FOG_BENCH_DIR; then ONE file is rewritten with 1 MiB of new random bytes and the folder is
# added again. The figure is the growth of the store's content bytes (`fog repo stat`) across
# the second version: the changed file (one raw 1 MiB leaf) plus the new folder node, and, when
# this build has `fog name publish`, the version node of publishing each version offline under
# a key (`fog key gen`, `fog name publish --key K /ipfs/ROOT`). Target: under 1.1 MiB + 16 KiB.
# The add's own dedup line ("added N blocks (...) new, M blocks (...) already stored", the
# store's verdict per block) must agree with the growth of content bytes; repo stat's
# "saved by dedup" and the time of each add are printed beside it.
# Prints each figure and the target with PASS or MISS and writes them to
# $FOG_BENCH_DIR/dedup-results.txt. Env: FOG_BIN (default build/fog), FOG_BENCH_DIR (default
# build/bench), DEDUP_FILES (default 100). Exit status: 0 when every figure was measured and the
# add's line agrees with repo stat (a MISS does not fail the run), 1 otherwise.
set -euo pipefail
export LC_ALL=C
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
# shellcheck source=../lib.sh
. "$ROOT/bench/lib.sh"
BENCH_NAME_WIDTH=48
FOG=${FOG_BIN:-$ROOT/build/fog}
W=${FOG_BENCH_DIR:-$ROOT/build/bench}
FILES=${DEDUP_FILES:-100}
RESULTS=$W/dedup-results.txt
MIB=1048576
LIMIT=$((MIB * 11 / 10 + 16384)) # 1.1 MiB + 16 KiB, in bytes (rounded down)

[ -x "$FOG" ] || die "no fog binary at $FOG (run make build)"
[ "$FILES" -ge 1 ] || die "DEDUP_FILES must be at least 1"
mkdir -p "$W"
SCRATCH=$W
[ -d /dev/shm ] && [ -w /dev/shm ] && SCRATCH=/dev/shm
DATA=$(mktemp -d "$SCRATCH/fog-dedup-data.XXXXXX")
WORK=$(mktemp -d "$W/dedup.XXXXXX")
trap 'rm -rf "$DATA" "$WORK"' EXIT
export FOG_PATH=$WORK/repo

now_us() { echo "${EPOCHREALTIME/./}"; }
secs() { awk -v us="$1" 'BEGIN {printf "%.2f", us / 1e6}'; }
kib() { awk -v b="$1" 'BEGIN {printf "%.1f", b / 1024}'; }
# stat_num LABEL: the first number after "LABEL:" in `fog repo stat`.
stat_num() { "$FOG" repo stat | sed -nE "s/^$1: +([0-9]+).*/\1/p"; }
# line_num N FILE: field N of the add's dedup line in FILE (1 new blocks, 2 new bytes,
# 4 already-stored blocks, 5 their bytes).
line_num() {
    sed -nE 's/^added ([0-9]+) blocks \(([0-9]+)( B| bytes,[^)]*)\) new, ([0-9]+) blocks \(([0-9]+)( B| bytes,[^)]*)\) already stored$/\'"$1"'/p' "$2"
}
# timed_add NAME: `fog add -r` of the folder; the root CID into $WORK/NAME.root, stderr into
# $WORK/NAME.err; prints the microseconds it took.
timed_add() {
    local t0 t1
    t0=$(now_us)
    "$FOG" add -r "$DATA/folder" >"$WORK/$1.out" 2>"$WORK/$1.err" ||
        die "fog add failed: $(head -c 400 "$WORK/$1.err")"
    t1=$(now_us)
    tail -n 1 "$WORK/$1.out" | awk '{print $2}' >"$WORK/$1.root"
    echo $((t1 - t0))
}

# Publishing each version under a key adds a version node per version (fog name publish, offline:
# the repository keeps the record); a build without the command skips this part and says so.
PUBLISH=0
if "$FOG" name publish --help >/dev/null 2>&1 && "$FOG" key gen --help >/dev/null 2>&1; then
    PUBLISH=1
fi
# publish NAME: publishes $WORK/NAME.root offline under the key "dedup-bench".
publish() {
    [ "$PUBLISH" -eq 1 ] || return 0
    "$FOG" name publish --key dedup-bench "/ipfs/$(cat "$WORK/$1.root")" \
        >"$WORK/$1.pub" 2>&1 || die "fog name publish failed: $(head -c 400 "$WORK/$1.pub")"
}

echo "bench: writing $FILES files of 1 MiB random bytes in $DATA" >&2
mkdir "$DATA/folder"
for ((i = 0; i < FILES; i++)); do
    head -c $MIB /dev/urandom >"$DATA/folder/$(printf 'file-%03d.bin' "$i")"
done
"$FOG" init >/dev/null
[ "$PUBLISH" -eq 0 ] || "$FOG" key gen dedup-bench >/dev/null

echo "bench: fog add -r of version 1" >&2
t_v1=$(timed_add v1)
publish v1
c_v1=$(stat_num "content bytes")

CHANGED=$(printf 'file-%03d.bin' $((FILES / 2)))
echo "bench: rewriting $CHANGED, fog add -r of version 2" >&2
head -c $MIB /dev/urandom >"$DATA/folder/$CHANGED.tmp"
mv "$DATA/folder/$CHANGED.tmp" "$DATA/folder/$CHANGED"
t_v2=$(timed_add v2)
c_add=$(stat_num "content bytes")
publish v2
c_v2=$(stat_num "content bytes")
saved=$(stat_num "saved by dedup")
ref=$(stat_num referenced)

delta=$((c_v2 - c_v1))
add_delta=$((c_add - c_v1))
pub_delta=$((c_v2 - c_add))
new_blocks=$(line_num 1 "$WORK/v2.err")
new_bytes=$(line_num 2 "$WORK/v2.err")
old_blocks=$(line_num 4 "$WORK/v2.err")
old_bytes=$(line_num 5 "$WORK/v2.err")
[ -n "$new_bytes" ] || die "no dedup line from fog add: $(head -c 400 "$WORK/v2.err")"
agree=yes
[ "$new_bytes" -eq "$add_delta" ] || agree=no

{
    echo "fog dedup benchmark: one 1 MiB file changes in a folder of $FILES files of 1 MiB"
    echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; folder in $SCRATCH, repository" \
        "in $W; default profile (CIDv1, raw leaves, 1 MiB chunks)"
    echo
    printf '%-48s %10s\n' "figure" "value"
    printf '%-48s %10s s\n' "fog add -r, version 1 (fresh repository)" "$(secs "$t_v1")"
    printf '%-48s %10s s\n' "fog add -r, version 2 (one file changed)" "$(secs "$t_v2")"
    printf '%-48s %10s bytes (%s KiB)\n' "content bytes after version 1" "$c_v1" "$(kib "$c_v1")"
    printf '%-48s %10s bytes (%s KiB)\n' "newly stored by the add of version 2" "$add_delta" \
        "$(kib "$add_delta")"
    printf '%-48s %10s blocks new (%s bytes), %s already stored (%s bytes)\n' \
        "  fog add's own line" "$new_blocks" "$new_bytes" "$old_blocks" "$old_bytes"
    if [ "$PUBLISH" -eq 1 ]; then
        printf '%-48s %10s bytes (version node; the signed record is kept beside, in the records table)\n' \
            "newly stored by publishing version 2" "$pub_delta"
    else
        # PUBLISH: this build has no `fog name publish`; when it does, the version nodes of
        # publishing each version count in the delta above (see publish()).
        printf '%-48s %10s\n' "newly stored by publishing version 2" "skipped (no fog name publish)"
    fi
    printf '%-48s %10s bytes (%s KiB)\n' "newly stored for version 2 in all" "$delta" \
        "$(kib "$delta")"
    printf '%-48s %10s bytes (referenced by the pinned DAGs: %s)\n' \
        "repo stat: saved by dedup" "${saved:-0}" "$ref"
    printf '%-48s %10s\n' "add's line agrees with repo stat" "$agree"
    echo
    printf '%-48s %10s  %s\n' "target" "value" "need"
    target "bytes stored for version 2 (1.1 MiB + 16 KiB)" "$delta" "<=" "$LIMIT"
} | tee "$RESULTS"
echo "bench: figures written to $RESULTS" >&2
[ "$agree" = yes ] || die "fog add reported $new_bytes new bytes, repo stat grew by $add_delta"
