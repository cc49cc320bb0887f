#!/usr/bin/env bash
# The C embedding program (relay-ffi/tests/c/embed.c) under valgrind: built without sanitizers,
# linked against the static library, run against the in-test origin by the c_programs test.
# Must report no errors and no definite or indirect leaks. Called by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/../.."
if ! command -v valgrind >/dev/null; then
    echo "valgrind missing: installing it"
    apt-get -o DPkg::Lock::Timeout=300 update >/dev/null
    DEBIAN_FRONTEND=noninteractive apt-get -o DPkg::Lock::Timeout=300 install -y valgrind >/dev/null
fi
valgrind --version
RELAY_FFI_VALGRIND=1 cargo test -p relay-ffi --test c_programs -- --exact embed_c_runs_clean_under_sanitizers_or_valgrind --nocapture
