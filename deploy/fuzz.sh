#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (AddressSanitizer and UBSan on)
# in build-fuzz/ and runs each in turn; the seconds given are shared among
# them (default 60). Corpora are kept in var/fuzz/<target> (NCM_FUZZ_DIR),
# so later runs go on from there; a crashing input is saved as
# var/fuzz/crash-* and the run fails.
#   deploy/fuzz.sh            # about a minute in all, as CI runs it
#   deploy/fuzz.sh 3600       # an hour
#   deploy/fuzz.sh 600 fuzz_requests
set -euo pipefail
cd "$(dirname "$0")/.."
deploy/install-deps.sh
total="${1:-60}"
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(fuzz_record_codec fuzz_canonical_hash fuzz_requests)
if [ ! -f build-fuzz/build.ninja ]; then
  CC=clang CXX=clang++ cmake -S . -B build-fuzz -G Ninja \
    -DCMAKE_BUILD_TYPE=RelWithDebInfo -DNCM_FUZZ=ON -DBUILD_TESTING=OFF >&2
fi
cmake --build build-fuzz -j "${NCM_BUILD_JOBS:-2}" --target "${targets[@]}" >&2
dir="${NCM_FUZZ_DIR:-var/fuzz}"
per=$(( total / ${#targets[@]} ))
[ "$per" -ge 1 ] || per=1
for t in "${targets[@]}"; do
  mkdir -p "$dir/$t"
  if [ "$t" = fuzz_requests ]; then
    NCM_FUZZ_SEEDS="$dir/$t" "build-fuzz/bin/$t"
  fi
  echo "fuzz: $t for ${per}s" >&2
  status=0
  "build-fuzz/bin/$t" -max_total_time="$per" -timeout=10 -rss_limit_mb=4096 \
    -print_final_stats=1 -artifact_prefix="$dir/crash-$t-" "$dir/$t" \
    >"$dir/$t.log" 2>&1 || status=$?
  grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|stat::peak_rss_mb|INFO: seed corpus)" "$dir/$t.log" >&2 || true
  if [ "$status" -ne 0 ]; then
    grep -E "ERROR|SUMMARY|==[0-9]+==|Test unit written" "$dir/$t.log" | head -20 >&2 || true
    echo "fuzz: $t failed (exit $status); the log is $dir/$t.log, the input $dir/crash-$t-*" >&2
    exit 1
  fi
done
echo "fuzz: no crash in ${total}s" >&2
