#!/usr/bin/env bash
# test_dedup.sh: dedup you can see (issue 6). `fog add` ends with one line on stderr, "added N
# blocks (...) new, M blocks (...) already stored", the store's own verdict on every block it
# wrote; `fog repo stat` shows what the pins reference and what dedup saved. The expected figures
# come from the inputs: 20 files of 64 KiB random bytes, each one raw block under the default
# profile (1 MiB chunks), in a folder whose dag-pb node's length `fog block stat` tells.
source "$(dirname "$0")/lib.sh"

KIB64=65536
# dedup_line: the summary line of the last command's stderr.
dedup_line() { grep -E '^added [0-9]+ blocks \(' "$T/err" | tail -n 1; }
# new_blocks, new_bytes, old_blocks, old_bytes: its four numbers (bytes exact: "N B" or "N bytes,").
line_num() {
    dedup_line | sed -nE 's/^added ([0-9]+) blocks \(([0-9]+)( B| bytes,[^)]*)\) new, ([0-9]+) blocks \(([0-9]+)( B| bytes,[^)]*)\) already stored$/\'"$1"'/p'
}
new_blocks() { line_num 1; }
new_bytes() { line_num 2; }
old_blocks() { line_num 4; }
old_bytes() { line_num 5; }
# stat_num LABEL: the first number after "LABEL:" in `fog repo stat`.
stat_num() {
    "$FOG" repo stat | sed -nE "s/^$1: +([0-9]+).*/\1/p"
}
block_size() { "$FOG" block stat "$1" | sed -n 's/^Size: //p'; }

expect_ok "init" "$FOG" init
expect_ok "stat of an empty repository" "$FOG" repo stat
grep -q "^referenced: *0 " "$T/out" && ok || bad "empty repo references 0: $(cat "$T/out")"
grep -q "^saved by dedup: 0$" "$T/out" && ok || bad "empty repo saves 0: $(cat "$T/out")"

mkdir "$T/src"
for i in $(seq -w 1 20); do
    head -c $KIB64 /dev/urandom >"$T/src/f$i"
done

# First add: everything is new.
expect_ok "add the folder" "$FOG" add -r "$T/src"
root1=$(tail -n 1 "$T/out" | awk '{print $2}')
dir1=$(block_size "$root1")
[ -n "$dir1" ] && [ "$dir1" -gt 0 ] && [ "$dir1" -lt 4096 ] && ok ||
    bad "folder node size: \"$dir1\""
same "first add: new blocks (20 files + folder)" "$(new_blocks)" 21
same "first add: new bytes" "$(new_bytes)" $((20 * KIB64 + dir1))
same "first add: nothing already stored" "$(old_blocks) $(old_bytes)" "0 0"
c1=$(stat_num "content bytes")
same "content bytes after the first add" "$c1" $((20 * KIB64 + dir1))
same "referenced after the first add" "$(stat_num referenced)" "$c1"
"$FOG" repo stat | grep -q "^saved by dedup: 0$" && ok || bad "nothing saved with one tree"

# One file changes: only it and the folder node are new.
head -c $KIB64 /dev/urandom >"$T/src/f07"
expect_ok "add the changed folder" "$FOG" add -r "$T/src"
root2=$(tail -n 1 "$T/out" | awk '{print $2}')
[ "$root2" != "$root1" ] && ok || bad "a changed folder has a new root"
dir2=$(block_size "$root2")
same "second add: new blocks (changed file + folder)" "$(new_blocks)" 2
nb=$(new_bytes)
same "second add: new bytes" "$nb" $((KIB64 + dir2))
[ "$nb" -ge $KIB64 ] && [ "$nb" -le $((KIB64 + 4096)) ] && ok ||
    bad "second add stored $nb bytes, not the changed file plus a few KiB"
same "second add: 19 files already stored" "$(old_blocks) $(old_bytes)" "19 $((19 * KIB64))"
c2=$(stat_num "content bytes")
same "content bytes grew by the new bytes" "$((c2 - c1))" "$nb"
ref=$(stat_num referenced)
same "referenced counts both trees" "$ref" $((40 * KIB64 + dir1 + dir2))
"$FOG" repo stat | grep -qE "^referenced: +$ref \(2\.[0-9] MiB\) by 2 pins$" && ok ||
    bad "referenced names the pins: $("$FOG" repo stat | grep referenced)"
same "saved by dedup: the 19 shared files" "$(stat_num "saved by dedup")" $((19 * KIB64))
"$FOG" repo stat | grep -qE "^saved by dedup: [0-9]+ \(1\.2 MiB, 47\.[0-9]%\)$" && ok ||
    bad "saved shows size and share: $("$FOG" repo stat | grep saved)"

# The same folder again: no block is new, and the repository does not grow.
expect_ok "add it unchanged" "$FOG" add -r "$T/src"
same "unchanged add: 0 new blocks" "$(new_blocks) $(new_bytes)" "0 0"
same "unchanged add: 21 blocks already stored" "$(old_blocks) $(old_bytes)" \
    "21 $((20 * KIB64 + dir2))"
same "unchanged add: content bytes the same" "$(stat_num "content bytes")" "$c2"
same "unchanged add: still two pins" "$(stat_num pins)" 2

# Inside one add: a file of one 1 MiB chunk three times stores the chunk once; the repeats are
# the store's "already stored" within the same batch.
head -c 1048576 /dev/urandom >"$T/chunk"
cat "$T/chunk" "$T/chunk" "$T/chunk" >"$T/triple"
expect_ok "add a file with repeated chunks" "$FOG" add "$T/triple"
root3=$(tail -n 1 "$T/out" | awk '{print $2}')
node3=$(block_size "$root3")
same "repeated chunks: leaf and file node new" "$(new_blocks) $(new_bytes)" \
    "2 $((1048576 + node3))"
same "repeated chunks: two repeats already stored" "$(old_blocks) $(old_bytes)" "2 2097152"
same "referenced counts the repeats (Tsize)" "$(stat_num referenced)" \
    $((ref + 3 * 1048576 + node3))
same "saved counts the repeats" "$(stat_num "saved by dedup")" $((19 * KIB64 + 2 * 1048576))

# Quiet modes print no summary; --only-hash stores nothing and says nothing.
expect_ok "add -q" "$FOG" add -q -r "$T/src"
same "add -q: no summary" "$(dedup_line)" ""
expect_ok "add -Q" "$FOG" add -Q -r "$T/src"
same "add -Q: no summary" "$(cat "$T/err")" ""
expect_ok "add --only-hash" "$FOG" add -n -r "$T/src"
same "only-hash: no summary" "$(dedup_line)" ""

# A DAG-CBOR root is walked (no Tsize): {"l": link to a raw block}. A recursive pin counts both
# blocks; once the leaf is gone the pin is left out and said so.
printf 'a leaf under cbor' >"$T/leaf"
expect_ok "put the leaf" "$FOG" block put "$T/leaf"
leaf=$(cat "$T/out")
leaf_hex=$("$FOG" cid inspect "$leaf" | sed -n 's/^digest *//p')
printf "a1616cd82a582500015512$(printf %02x 32)$leaf_hex" | xxd -r -p >"$T/node.cbor"
expect_ok "put the cbor node" "$FOG" block put --cid-codec dag-cbor "$T/node.cbor"
cbor=$(cat "$T/out")
ref_before=$(stat_num referenced)
expect_ok "pin the cbor node" "$FOG" pin add "$cbor"
same "cbor pin counts node and leaf" "$(stat_num referenced)" \
    $((ref_before + $(stat -c %s "$T/node.cbor") + $(stat -c %s "$T/leaf")))
expect_ok "remove the leaf" "$FOG" block rm "$leaf"
expect_ok "stat with a missing block" "$FOG" repo stat
grep -q "(1 pin left out: missing or unreadable blocks)" "$T/out" && ok ||
    bad "a pin with a missing block is named: $(cat "$T/out")"
same "the incomplete pin is not counted" "$(stat_num referenced)" "$ref_before"

# A DAG-CBOR node over a dag-pb tree (as a name's version node links its content root): the
# node counts its length; the tree (its root's length plus Tsize, read from the root alone) is
# already counted through its own pin from `fog add`, and a DAG reached from two pins counts once.
root2_hex=$("$FOG" cid inspect "$root2" | sed -n 's/^digest *//p')
printf "a1616cd82a582500017012$(printf %02x 32)$root2_hex" | xxd -r -p >"$T/over.cbor"
expect_ok "put the cbor node over the tree" "$FOG" block put --cid-codec dag-cbor "$T/over.cbor"
over=$(cat "$T/out")
expect_ok "pin it" "$FOG" pin add "$over"
ref_over=$(stat_num referenced)
same "cbor over an already pinned tree adds only the node" "$ref_over" \
    $((ref_before + $(stat -c %s "$T/over.cbor")))
expect_ok "unpin the tree's own pin" "$FOG" pin rm "$root2"
same "the tree now counts through the cbor node" "$(stat_num referenced)" "$ref_over"
expect_ok "pin the tree again" "$FOG" pin add "$root2"
# Only roots with Tsize are read: a leaf gone from under one changes nothing here (repo verify
# and pin verification are where damage shows).
leaf7=$("$FOG" ls "$root2" | awk '$3 == "f07" {print $1}')
expect_ok "remove a leaf under the tree" "$FOG" block rm "$leaf7"
same "referenced read from the roots" "$(stat_num referenced)" "$ref_over"
"$FOG" repo stat | grep -q "(1 pin left out" && ok || bad "still one pin left out"
ref_before=$ref_over

# A direct pin counts its one block, not the DAG below it.
expect_ok "unpin the first tree" "$FOG" pin rm "$root1"
expect_ok "pin its folder node directly" "$FOG" pin add --recursive=false "$root1"
same "a direct pin counts the node only" "$(stat_num referenced)" \
    $((ref_before - 20 * KIB64))

finish
