#!/usr/bin/env bash
# tests/run.sh: the one command that tests reprise on any machine. Installs
# what is missing, builds with AddressSanitizer and UBSan into build-asan/,
# runs the libFuzzer targets for a bounded time and the threads under
# ThreadSanitizer (tests/tsan.sh), then every unit and end-to-end test with
# ctest, two at a time (CTEST_JOBS). Arguments go to ctest (e.g. -R capture).
set -euo pipefail
cd "$(dirname "$0")/.."

./tests/install-deps.sh --test

build=build-asan
cmake -S . -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DREPRISE_SANITIZE=ON >/dev/null
cmake --build "$build" -j"$(nproc)"

export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

# Fuzzing first (clang, libFuzzer, ASan+UBSan), each target for a bounded
# time (FUZZ_SECONDS, default 3: nine targets, and the whole run must stay
# under 10 minutes on 2 cores); FUZZ_SECONDS=0 skips it. This is a smoke
# run; campaigns belong to tests/fuzz/run.sh 600.
if [ "${FUZZ_SECONDS:-3}" != 0 ]; then
    ./tests/fuzz/run.sh "${FUZZ_SECONDS:-3}"
fi

# The capture and replay threads under ThreadSanitizer: a TSan build of the
# reprise binary only and short runs (tests/tsan.sh, ~35 s); TSAN=0 skips.
if [ "${TSAN:-1}" != 0 ]; then
    ./tests/tsan.sh
fi

# Two tests at a time: most of an end-to-end test's time is waiting (for
# tcpdump to flush, for a paced replay), and every test uses its own free
# ports, folders and port-filtered captures, so they do not see each other.
ctest --test-dir "$build" --output-on-failure -j"${CTEST_JOBS:-$(nproc)}" "$@"
