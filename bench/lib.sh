# shellcheck shell=bash
# lib.sh: what the `make bench` drivers (bench/add, fetch, transport) share.
#   die MESSAGE...             print "bench: MESSAGE" on stderr and exit 1
#   median < NUMBERS           the median of one number a line
#   target NAME VALUE OP LIMIT one result line: NAME, VALUE, the target (OP >= or <=, LIMIT) and
#                              PASS or MISS; NAME is padded to BENCH_NAME_WIDTH (default 44)
die() {
    echo "bench: $*" >&2
    exit 1
}

median() {
    sort -g | awk '{v[NR] = $1}
        END {print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2}'
}

target() {
    local verdict
    verdict=$(awk -v r="$2" -v op="$3" -v l="$4" \
        'BEGIN {print ((op == ">=" && r >= l) || (op == "<=" && r <= l)) ? "PASS" : "MISS"}')
    printf "%-${BENCH_NAME_WIDTH:-44}s %10s  %s %-6s %s\n" "$1" "$2" "$3" "$4" "$verdict"
}
