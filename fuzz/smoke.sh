#!/usr/bin/env bash
# Builds every fuzz target with libFuzzer's coverage instrumentation (the same sancov flags
# cargo-fuzz passes, all stable rustc options; no sanitizer, no cargo-fuzz install) and runs
# each for a few seconds from its checked-in seeds. Any panic is a crash and fails the run.
# Usage: bash fuzz/smoke.sh [SECONDS_PER_TARGET [TARGET...]] (default: every target)
set -euo pipefail
cd "$(dirname "$0")"
secs=${1:-15}
shift $(( $# > 0 ? 1 : 0 ))
export RUSTFLAGS="--cfg fuzzing -Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
# An explicit --target keeps RUSTFLAGS off build scripts and proc macros (as cargo-fuzz does).
host=$(rustc -vV | sed -n 's/^host: //p')
cargo build --release --bins --target "$host"
targets=${*:-$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^relay-fuzz$')}
for t in $targets; do
    mkdir -p "corpus/$t" "artifacts/$t"
    dict=()
    case $t in
        request_head|response_head|chunked) dict=(-dict=http.dict) ;;
        hls_rewrite) dict=(-dict=hls.dict) ;;
        xmltv_read) dict=(-dict=xmltv.dict) ;;
    esac
    echo "--- $t (${secs}s)"
    "target/$host/release/$t" "corpus/$t" "corpus-seed/$t" "${dict[@]}" -max_total_time="$secs" \
        -artifact_prefix="artifacts/$t/" -print_final_stats=1 2>&1 | grep -E "^(stat::number_of_executed_units|==|SUMMARY|.*panicked)" || true
    if ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
        echo "fuzz target $t crashed: $(ls artifacts/$t/crash-*)"
        exit 1
    fi
done
