#!/usr/bin/env bash
# Coverage-guided fuzzing of every reader of untrusted input (libFuzzer through `swiftc -sanitize=fuzzer`).
#
#   scripts/fuzz.sh [minutes] [target…]      default: 10 minutes for each of all targets
#
# The library is built once with the fuzzer and AddressSanitizer instrumentation into .build-fuzz/ (flags on the
# command line only: Package.swift stays free of unsafe flags), then each Fuzz/<target>.swift is compiled and
# linked against it. Each target starts from its committed seeds (Fuzz/corpus/<target>/) plus the corpus grown
# by earlier runs (.build-fuzz/corpus/<target>/), runs for the given minutes (fractions allowed: 0.5 = 30 s), and
# writes any crashing input to fuzz-findings/<target>/. A summary table ends the run; the exit status is 1 if
# any target crashed.
set -euo pipefail
cd "$(dirname "$0")/.."

ALL_TARGETS=(safetensors-header safetensors npy npz jpeg png task-config vtab-config metrics json hf-config timm-config)
MINUTES=${1:-10}
if [[ $# -gt 0 ]]; then shift; fi
TARGETS=("$@")
if [[ ${#TARGETS[@]} -eq 0 ]]; then TARGETS=("${ALL_TARGETS[@]}"); fi
SECONDS_PER_TARGET=$(awk -v m="$MINUTES" 'BEGIN { s = int(m * 60 + 0.5); if (s < 1) s = 1; print s }')

SCRATCH=.build-fuzz
# One -sanitize= flag: swiftc keeps only the last of several (`-sanitize=fuzzer -sanitize=address` instruments
# nothing for coverage).
FLAGS=(-Xswiftc -sanitize=fuzzer,address -Xswiftc -enable-testing
       -Xcc -fsanitize=fuzzer-no-link -Xcc -fsanitize=address)
echo "== building the library with -sanitize=fuzzer,address into $SCRATCH/"
swift build -c release --scratch-path "$SCRATCH" --target SparseTuning "${FLAGS[@]}"
BIN=$(swift build -c release --scratch-path "$SCRATCH" --show-bin-path "${FLAGS[@]}")

# Objects of the library and of the targets it depends on (ZIPFoundation, the C kernels).
mapfile -t OBJECTS < <(find "$BIN/SparseTuning.build" "$BIN/CKernels.build" "$BIN/ZIPFoundation.build" -name '*.o' | sort)

source_of() {
    case "$1" in
        jpeg|png) echo Fuzz/image.swift ;;
        *) echo "Fuzz/${1//-/_}.swift" ;;
    esac
}

# The C headers of the system libraries the figures use (cairo's include paths).
read -r -a CAIRO_INCLUDES <<< "$(pkg-config --cflags-only-I cairo)"
mkdir -p "$SCRATCH/fuzzers" "$SCRATCH/logs"
for target in "${TARGETS[@]}"; do
    src=$(source_of "$target")
    [[ -f $src ]] || { echo "unknown target '$target' (targets: ${ALL_TARGETS[*]})" >&2; exit 2; }
    echo "== compiling $target ($src)"
    swiftc -sanitize=fuzzer,address -parse-as-library -O -module-name "Fuzz_${target//-/_}" \
        -I "$BIN/Modules" -I Sources/CDNNL -I Sources/CJPEG -I Sources/CPNG -I Sources/CCairo "${CAIRO_INCLUDES[@]}" -I Sources/CKernels/include \
        -I "$SCRATCH/checkouts/ZIPFoundation/Sources/CZLib" \
        -Xcc "-fmodule-map-file=$BIN/CKernels.build/module.modulemap" \
        "$src" Fuzz/FuzzSupport.swift "${OBJECTS[@]}" \
        -ldnnl -ljpeg -lpng -lcairo -lz -o "$SCRATCH/fuzzers/$target" >"$SCRATCH/logs/build-$target.log" 2>&1 \
        || { grep -v 'Cannot export local symbol' "$SCRATCH/logs/build-$target.log" >&2; exit 1; }
done

export FUZZ_SCRATCH="$PWD/$SCRATCH"
SUMMARY=$(printf '%-20s %12s %8s %8s %8s\n' target runs exec/s cov crashes)
FAILED=0
for target in "${TARGETS[@]}"; do
    corpus="$SCRATCH/corpus/$target"
    findings="fuzz-findings/$target"
    mkdir -p "$corpus" "$findings"
    seeds=()
    [[ -d Fuzz/corpus/$target ]] && seeds=("Fuzz/corpus/$target")
    dict=()
    [[ -f Fuzz/dict/$target.dict ]] && dict=("-dict=Fuzz/dict/$target.dict")
    # Findings: crash-, leak-, oom- and timeout- inputs (libFuzzer's slow-unit- files are reported, not counted).
    count_findings() { find "$findings" -type f \( -name 'crash-*' -o -name 'leak-*' -o -name 'oom-*' -o -name 'timeout-*' \) | wc -l; }
    before=$(count_findings)
    log="$SCRATCH/logs/$target.log"
    echo "== fuzzing $target for ${SECONDS_PER_TARGET} s (log: $log)"
    status=0
    ASAN_OPTIONS=detect_leaks=0:allocator_may_return_null=1 "$SCRATCH/fuzzers/$target" \
        -max_total_time="$SECONDS_PER_TARGET" -rss_limit_mb=2048 -malloc_limit_mb=2048 -timeout=20 \
        -max_len=65536 -print_final_stats=1 -artifact_prefix="$findings/" "${dict[@]}" \
        "$corpus" "${seeds[@]}" >"$log" 2>&1 || status=$?
    runs=$(awk '/stat::number_of_executed_units/ { print $NF }' "$log" | tail -1)
    speed=$(awk '/stat::average_exec_per_sec/ { print $NF }' "$log" | tail -1)
    cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{ print $2 }')
    crashes=$(( $(count_findings) - before ))
    slow=$(find "$findings" -type f -name 'slow-unit-*' | wc -l)
    [[ $slow -gt 0 ]] && echo "   $target: $slow slow input(s) (over 10 s with the sanitizers) in $findings/ — reported, not crashes"
    if [[ $status -ne 0 && $crashes -eq 0 ]]; then crashes="exit $status"; fi
    [[ $crashes != 0 ]] && FAILED=1
    SUMMARY+=$(printf '\n%-20s %12s %8s %8s %8s' "$target" "${runs:-?}" "${speed:-?}" "${cov:-?}" "$crashes")
done

echo
echo "== ${SECONDS_PER_TARGET} s per target; crashing inputs in fuzz-findings/<target>/"
echo "$SUMMARY"
exit $FAILED
