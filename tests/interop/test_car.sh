#!/usr/bin/env bash
# test_car.sh: CAR files between fog and the JavaScript implementations (@ipld/car,
# ipfs-unixfs-importer/-exporter), on a generated folder (gen.mjs car: UTF-8 names, empty files
# and folders, a multi-chunk file, a HAMT-sharded subfolder).
#  (a) fog adds and `car export`s; car_check.mjs reads it: one root, every block hashes to its
#      CID, the block set equals the JS importer's for the same settings, and the exporter
#      gives back every file and folder as on disk.
#  (b) JS writes CARs (children-first and root-first order); `fog car import` pins the root,
#      `fog cat` (whole files and byte ranges) gives the original bytes; `--no-pin` stores
#      without pinning.
#  (c) damaged CARs (a bit flipped in a leaf or in the root, or the file cut short): the import
#      fails naming the damaged block, and `pin ls` / `repo stat` show nothing new; the
#      undamaged CAR then imports.
# Prints one line per check, then "N passed, M failed"; exit 1 on any failure.
# Run alone: FOG_BIN=build/fog bash tests/interop/test_car.sh   (KEEP=1 keeps scratch)
# shellcheck disable=SC2086 # $P0, $P1 are lists of flags
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "$0")/common.sh"

in=$work/in
"$NODE" "$here/gen.mjs" "$in" car
folder=$in/carfolder
P1="--cid-profile unixfs-v1-2025"
P0="--cid-profile unixfs-v0-2015"

# fog CMD... with the repository $repo; stderr to $work/err.
f() {
    "$FOG" --repo "$repo" "$@" 2>"$work/err"
}
# Both spellings of a CID: "<as given> <CIDv1 base32>".
spellings() {
    echo "$1 $("$NODE" "$here/cid_info.mjs" "$1" | cut -d' ' -f1)"
}
# True when one of the spellings of CID $1 is in file $2.
mentions() {
    local s
    for s in $(spellings "$1"); do
        grep -qF -- "$s" "$2" && return 0
    done
    return 1
}
# The first three items of a ";"-separated list, and how many there were.
short() {
    awk -v RS=";" 'NF { n++; if (n <= 3) printf "%s;", $0 }
                   END { if (n > 3) printf " (%d in all)", n }' \
        <<<"$1"
}
new_repo() {
    repo=$work/$1
    if ! "$FOG" --repo "$repo" init >/dev/null 2>"$work/err"; then
        fail "fog init $1: $(first_line "$work/err")"
        return 1
    fi
}

# ---- (a) fog exports, JS reads ----
export_case() { # name path flags...
    local name=$1 path=$2 root
    shift 2
    if ! root=$(f add -r -Q "$@" "$path"); then
        fail "$name fog add: $(first_line "$work/err")"
        return
    fi
    if ! f car export "$root" >"$work/$name.car"; then
        fail "$name fog car export: $(first_line "$work/err")"
        return
    fi
    "$NODE" "$here/car_check.mjs" "$name" "$work/$name.car" "$path" "$root" "$@" \
        >"$work/check.txt" 2>&1 || true
    tally <"$work/check.txt"
}
if new_repo export; then
    export_case export/folder@v1 "$folder" $P1
    export_case export/folder@v0 "$folder" $P0
    export_case export/single@v0 "$in/single.bin" $P0
    export_case export/single@v1-size65536 "$in/single.bin" $P1 --chunker size-65536
fi

# ---- (b) JS writes, fog imports ----
# Every file outside shard/, every 700th file inside it.
sample_files() {
    (cd "$1" && find . -type f | sed 's|^\./||' | LC_ALL=C sort |
        awk '!/^shard\// || (++n % 700 == 1)')
}
cat_ranges() { # name root-path file
    local name=$1 cidpath=$2 file=$3 size off len bad=""
    size=$(stat -c %s "$file")
    for range in 0:1 262143:2 1048575:3 1048576:1048577 $((size - 10)):10 $((size - 1)):100 \
                 $size:5 5:0; do
        off=${range%:*}
        len=${range#*:}
        if ! f cat --offset "$off" --length "$len" "$cidpath" >"$work/range"; then
            bad="$bad offset=$off length=$len: $(first_line "$work/err");"
        elif ! dd if="$file" iflag=skip_bytes,count_bytes skip="$off" count="$len" bs=1M \
                  status=none | cmp -s - "$work/range"; then
            bad="$bad offset=$off length=$len: wrong bytes;"
        fi
    done
    if [ -z "$bad" ]; then ok "$name"; else fail "$name:$(short "$bad")"; fi
}
import_case() { # name path order flags...
    local name=$1 path=$2 order=$3 root rel bad="" n=0
    shift 3
    if ! root=$("$NODE" "$here/car_make.mjs" "$path" "$work/$name.car" "$order" "$@" \
                2>"$work/err"); then
        fail "$name js car_make: $(first_line "$work/err")"
        return
    fi
    if ! f car import "$work/$name.car" >"$work/out"; then
        fail "$name fog car import: $(first_line "$work/err")"
        return
    fi
    ok "$name/import $root"
    f pin ls >"$work/pins" || true
    if mentions "$root" "$work/pins"; then
        ok "$name/pinned"
    else
        fail "$name/pinned: $root not in fog pin ls: $(first_line "$work/pins")"
    fi
    if [ -f "$path" ]; then
        if f cat "$root" | cmp -s - "$path"; then ok "$name/cat"; else fail "$name/cat"; fi
        cat_ranges "$name/cat-ranges" "$root" "$path"
        return
    fi
    while IFS= read -r rel; do
        n=$((n + 1))
        if ! f cat "$root/$rel" >"$work/cat"; then
            bad="$bad $rel ($(first_line "$work/err"));"
        elif ! cmp -s "$work/cat" "$path/$rel"; then
            bad="$bad $rel (bytes differ);"
        fi
    done < <(sample_files "$path")
    if [ -z "$bad" ]; then ok "$name/cat ($n files)"; else fail "$name/cat:$(short "$bad")"; fi
    cat_ranges "$name/cat-ranges" "$root/big.bin" "$path/big.bin"
}
if new_repo import; then
    import_case import/folder@v1-children-first "$folder" children-first $P1
    import_case import/folder@v0-root-first "$folder" root-first $P0
    import_case import/single@v0-cid1-raw-root-first "$in/single.bin" root-first \
        $P0 --cid-version 1 --raw-leaves
    # --no-pin: the blocks are there (block get hashes right) but no pin is added.
    name=import/no-pin
    if root=$("$NODE" "$here/car_make.mjs" "$folder/tree" "$work/nopin.car" children-first \
              $P1 --chunker size-4096 2>"$work/err") &&
       f car import --no-pin "$work/nopin.car" >"$work/out"; then
        f pin ls >"$work/pins" || true
        digest=$("$NODE" "$here/cid_info.mjs" "$root" | cut -d' ' -f2)
        if mentions "$root" "$work/pins"; then
            fail "$name: $root pinned despite --no-pin"
        elif [ "$(f block get "$root" | sha256sum | cut -d' ' -f1)" != "$digest" ]; then
            fail "$name: fog block get $root does not hash to its CID"
        else
            ok "$name $root"
        fi
    else
        fail "$name: $(first_line "$work/err")"
    fi
fi

# ---- (c) damaged CARs ----
state() { # what must not change: pins, and the block / byte / pin counts of repo stat
    f pin ls 2>&1 | LC_ALL=C sort
    f repo stat 2>&1 | grep -iE '^ *(blocks|content bytes|pins|num)' || f repo stat 2>&1
}
if new_repo tamper; then
    good=$work/good.car
    if ! groot=$("$NODE" "$here/car_make.mjs" "$in/single.bin" "$good" children-first \
                 $P1 --chunker size-65536 2>"$work/err"); then
        fail "tamper js car_make: $(first_line "$work/err")"
    else
        # Something in the repository first, so that "nothing new" is not trivially true.
        f add -r -Q "$in/carfolder/tree" >/dev/null ||
            fail "tamper fog add: $(first_line "$work/err")"
        for mode in leaf root truncate; do
            name=tamper/$mode
            if ! bad_cid=$("$NODE" "$here/car_tamper.mjs" "$good" "$work/bad.car" "$mode" \
                           2>"$work/err"); then
                fail "$name js car_tamper: $(first_line "$work/err")"
                continue
            fi
            bad_cid=${bad_cid%% *}
            state >"$work/before"
            if "$FOG" --repo "$repo" car import "$work/bad.car" >"$work/msg" 2>&1; then
                fail "$name: fog car import accepted a damaged CAR"
                continue
            fi
            state >"$work/after"
            if [ "$bad_cid" != "-" ] && ! mentions "$bad_cid" "$work/msg"; then
                fail "$name: error does not name $bad_cid: $(first_line "$work/msg")"
            elif ! cmp -s "$work/before" "$work/after"; then
                fail "$name: repository changed: $(diff "$work/before" "$work/after" | tr '\n' ' ')"
            else
                ok "$name rejected: $(first_line "$work/msg")"
            fi
        done
        # Control: the undamaged CAR imports, so the rejections above were about the damage.
        if f car import "$good" >"$work/out" && f cat "$groot" | cmp -s - "$in/single.bin"; then
            ok "tamper/control $groot"
        else
            fail "tamper/control: undamaged CAR: $(first_line "$work/err")"
        fi
    fi
fi
summary
