#!/usr/bin/env bash
# make fuzz: build every fuzz/fuzz_*.c with clang's libFuzzer (+ASan/UBSan) and run each for
# FUZZ_SECONDS (default 30). Corpora live in build-fuzz/corpus/<target>, seeded from
# ../shared/vectors when present, and grow across runs. A crash stops the run with its input
# saved as build-fuzz/crash-*; turn it into a unit test.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh --fuzz
secs=${FUZZ_SECONDS:-30}
CC=clang cmake -S . -B build-fuzz -DFOG_FUZZ=ON -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build-fuzz -j2 >/dev/null
vectors=$(cd .. && pwd)/shared/vectors
seed() { # seed TARGET GLOB...: copy matching vector files into the target's corpus once
  local dir=build-fuzz/corpus/$1; shift
  mkdir -p "$dir"
  if [ -z "$(ls -A "$dir")" ] && [ -d "$vectors" ]; then
    for g in "$@"; do
      find "$vectors" -path "$vectors/$g" -type f -size -256k 2>/dev/null | head -n 200 |
        while read -r f; do cp "$f" "$dir/$(sha256sum "$f" | cut -c1-16)"; done
    done
  fi
}
seed fuzz_car '*.car'
seed fuzz_dagpb 'ipld-codec-fixtures/fixtures/*/*.dag-pb'
seed fuzz_dagcbor 'ipld-codec-fixtures/fixtures/*/*.dag-cbor'
for t in build-fuzz/fuzz_*; do
  [ -x "$t" ] || continue
  name=$(basename "$t")
  mkdir -p "build-fuzz/corpus/$name"
  echo "== $name: ${secs}s"
  "$t" -max_total_time="$secs" -print_final_stats=1 -artifact_prefix=build-fuzz/crash- \
    "build-fuzz/corpus/$name" 2>&1 | grep -E '^(stat::number_of_executed_units|stat::new_units_added|==[0-9]+==ERROR|SUMMARY)' || true
done
echo "fuzz: done; crashes, if any, are in build-fuzz/crash-*"
ls build-fuzz/crash-* 2>/dev/null && exit 1 || true
