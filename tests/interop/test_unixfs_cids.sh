#!/usr/bin/env bash
# test_unixfs_cids.sh: `fog add --only-hash` must give the same root CID as ipfs-unixfs-importer
# (the importer of helia) for the same input and settings: both IPIP-499 profiles and kubo-style
# overrides (CID version, raw leaves, chunker, links per node). Inputs come from a seeded PRNG
# (gen.mjs): files around the chunk sizes, a two-level v0 file, folders with UTF-8 names, empty
# files and folders, 3000 entries, and folders at / just over the HAMT threshold. fog's rabin is
# the JS importer's (rabin-wasm), so rabin CIDs are compared too, and layout.mjs explains a rabin
# mismatch. For a few folders every entry's CID is compared, not only the root. Some inputs also
# carry the CID a spec gives (IPIP-499, UnixFS spec).
# Prints one line per case, then "N passed, M failed"; exit 1 on any failure.
# Run alone: FOG_BIN=build/fog bash tests/interop/test_unixfs_cids.sh   (KEEP=1 keeps scratch)
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

in=$work/in
"$NODE" "$here/gen.mjs" "$in" cids

P1="--cid-profile unixfs-v1-2025"
P0="--cid-profile unixfs-v0-2015"
R3=rabin-16384-65536-131072
declare -A S=(
    [v1]="$P1"
    [v0]="$P0"
    [v0-cid1-raw]="$P0 --cid-version 1 --raw-leaves"
    [v0-cid1-dagpb]="$P0 --cid-version 1 --raw-leaves=false"
    [v1-dagpb]="$P1 --raw-leaves=false"
    [v1-size1024]="$P1 --chunker size-1024"
    [v0-size1000]="$P0 --chunker size-1000"
    [v1-size1024-links16]="$P1 --chunker size-1024 --max-links 16"
    [v0-size4096-links3]="$P0 --chunker size-4096 --max-links 3"
    [v1-size65536-links2]="$P1 --chunker size-65536 --max-links 2"
    [v1-rabin-4k-16k-64k]="$P1 --chunker rabin-4096-16384-65536"
    [v0-rabin-2k-8k-32k]="$P0 --chunker rabin-2048-8192-32768"
    [v1-rabin]="$P1 --chunker rabin"
    [v0-rabin]="$P0 --chunker rabin"
    [v0-cid1-raw-rabin-16k-64k-128k]="$P0 --cid-version 1 --raw-leaves --chunker $R3"
)
all_settings=(v1 v0 v0-cid1-raw v0-cid1-dagpb v1-dagpb v1-size1024 v0-size1000
              v1-size1024-links16 v0-size4096-links3 v1-size65536-links2)
small=(hello.txt empty.bin one.bin k256-1.bin k256.bin k256+1.bin m1-1.bin m1.bin m1+1.bin
       k300.bin emptydir tree many)

# Cases: name, input, setting, check (see cids.mjs).
cases=$work/cases.tsv
: >"$cases"
add_case() {
    printf '%s@%s\t%s\t%s\t%s\n' "$1" "$2" "$in/$1" "${S[$2]}" "${3:-}" >>"$cases"
}
for f in "${small[@]}"; do
    for s in "${all_settings[@]}"; do
        add_case "$f" "$s"
    done
done
# Spec anchors: IPIP-499 (hello world), UnixFS spec / PROTOCOLS.md 2.3 (empty file, folder).
sed -i \
    -e '/^hello.txt@v1\t/s/$/cid=bafkreifzjut3te2nhyekklss27nh3k72ysco7y32koao5eei66wof36n5e/' \
    -e '/^hello.txt@v0\t/s/$/cid=Qmf412jQZiuVUtdgnB36FXFX7xg5V6KEbSJ4dpQuhkLyfD/' \
    -e '/^empty.bin@v1\t/s/$/cid=bafkreihdwdcefgh4dqkjv67uzcmw7ojee6xedzdetojuzjevtenxquvyku/' \
    -e '/^empty.bin@v0\t/s/$/cid=QmbFMke1KXqnYyBBWxB74N4c5SBnJMVAiMNRcGu6x1AwQH/' \
    -e '/^emptydir@v1\t/s/$/cid=bafybeiczsscdsbs7ffqz55asqdf3smv6klcw3gofszvwlyarci47bgf354/' \
    -e '/^emptydir@v0\t/s/$/cid=QmUNLLsPACCz1vLxQVkXqqLX5R1X345qqfHbsf67hvA3Nn/' \
    "$cases"
for s in v1 v0 v0-cid1-raw v0-rabin; do
    add_case big-v0.bin "$s"
done
rabin_settings=(v1-rabin-4k-16k-64k v0-rabin-2k-8k-32k v1-rabin v0-cid1-raw-rabin-16k-64k-128k)
for f in empty.bin one.bin k256+1.bin k300.bin m1+1.bin tree many; do
    for s in "${rabin_settings[@]}"; do
        add_case "$f" "$s"
    done
done
add_case hamt-v0-at v0 at-threshold
add_case hamt-v0-over v0 over-threshold
add_case hamt-v1-at v1 at-threshold
add_case hamt-v1-over v1 over-threshold
add_case hamt-v0-over v0-cid1-raw over-threshold
add_case hamt-v1-at v1-dagpb

# The JS side runs in the background while fog hashes.
"$NODE" "$here/cids.mjs" <"$cases" >"$work/js.tsv" 2>"$work/js.err" &
js_pid=$!

: >"$work/fog.tsv"
while IFS=$'\t' read -r name path flags _; do
    # shellcheck disable=SC2086 # flags are words
    if cid=$("$FOG" add -r -Q --only-hash $flags "$path" 2>"$work/fog.err"); then
        printf '%s\t%s\n' "$name" "$cid" >>"$work/fog.tsv"
    else
        printf '%s\t!%s\n' "$name" "$(first_line "$work/fog.err")" >>"$work/fog.tsv"
    fi
done <"$cases"

# Rabin, a second opinion (layout.mjs): fog adds into a repository and exports a CAR; the DAG
# is checked over fog's own chunk boundaries, and those against the JS rabin chunker.
repo=$work/repo
if ! "$FOG" --repo "$repo" init >/dev/null 2>"$work/init.err"; then
    fail "fog init: $(first_line "$work/init.err")"
fi
layout_cases=("m1+1.bin|v1-rabin-4k-16k-64k" "k300.bin|v0-rabin-2k-8k-32k" "m1+1.bin|v1-rabin"
              "m1+1.bin|v0-cid1-raw-rabin-16k-64k-128k")
layout_out=$work/layout.txt
: >"$layout_out"
for c in "${layout_cases[@]}"; do
    IFS='|' read -r f setting <<<"$c"
    name="layout/$f@$setting"
    flags=${S[$setting]}
    # shellcheck disable=SC2086
    if ! root=$("$FOG" --repo "$repo" add -r -Q $flags "$in/$f" 2>"$work/fog.err"); then
        echo "FAIL $name fog add: $(first_line "$work/fog.err")" >>"$layout_out"
        continue
    fi
    if ! "$FOG" --repo "$repo" car export "$root" >"$work/layout.car" 2>"$work/fog.err"; then
        echo "FAIL $name fog car export: $(first_line "$work/fog.err")" >>"$layout_out"
        continue
    fi
    # shellcheck disable=SC2086
    "$NODE" "$here/layout.mjs" "$name" "$work/layout.car" "$in/$f" "$root" $flags \
        >>"$layout_out" 2>&1 || true
done

# Every entry, not only the root: `fog add` prints "added <CID> <path>" for each file and
# folder, which must equal the importer's entries (entries.mjs), so a root mismatch can be
# traced to the first entry that differs.
entry_cases=("tree|v1" "tree|v0" "tree|v1-size1024-links16" "tree|v0-rabin-2k-8k-32k" "many|v0"
             "hamt-v1-over|v1")
for c in "${entry_cases[@]}"; do
    IFS='|' read -r f setting <<<"$c"
    name="entries/$f@$setting"
    # shellcheck disable=SC2086
    if ! "$FOG" add -r --only-hash ${S[$setting]} "$in/$f" 2>"$work/fog.err" |
            LC_ALL=C sort >"$work/fog-entries"; then
        fail "$name fog error: $(first_line "$work/fog.err")"
        continue
    fi
    # shellcheck disable=SC2086
    "$NODE" "$here/entries.mjs" "$in/$f" ${S[$setting]} >"$work/js-entries" 2>"$work/js.err" ||
        echo "js error: $(first_line "$work/js.err")" >>"$work/js-entries"
    if cmp -s "$work/fog-entries" "$work/js-entries"; then
        ok "$name ($(wc -l <"$work/js-entries") entries)"
    else
        fail "$name first difference (< fog, > js): $(diff "$work/fog-entries" \
            "$work/js-entries" | grep '^[<>]' | head -n 2 | tr '\n' ' ')"
    fi
done

js_rc=0
wait "$js_pid" || js_rc=$?
if [ "$(wc -l <"$work/js.tsv")" -ne "$(wc -l <"$cases")" ]; then
    fail "js side stopped early (rc $js_rc): $(first_line "$work/js.err")"
fi

# Compare, case by case, in the order of the case list.
declare -A FOGCID=()
while IFS=$'\t' read -r name cid; do
    FOGCID[$name]=$cid
done <"$work/fog.tsv"
while IFS=$'\t' read -r name jscid type problem; do
    fogcid=${FOGCID[$name]:-"(not run)"}
    if [ -n "${problem:-}" ]; then
        fail "$name js-side: $problem (fog=$fogcid js=$jscid)"
    elif [ "${fogcid:0:1}" = "!" ]; then
        fail "$name fog error: ${fogcid:1} (js=$jscid)"
    elif [ "$fogcid" = "$jscid" ]; then
        ok "$name $jscid${type:+ ($type)}"
    else
        fail "$name fog=$fogcid js=$jscid ($type)"
    fi
done <"$work/js.tsv"
tally <"$layout_out"
summary
