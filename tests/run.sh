#!/usr/bin/env bash
# The README's test command: provision what the tests need (tests/setup.sh), run the whole
# suite (`cargo test --locked`), and end with one count line: `N passed, N failed, N skipped`.
# A test skips only when a component is missing and CI is unset; each skip is recorded in a
# log (support::unavailable) and counted here, so none is silent. Extra arguments go to
# `cargo test` (e.g. `bash tests/run.sh --test it lifecycle`).
set -euo pipefail
cd "$(dirname "$0")/.."

bash tests/setup.sh

skips="$(mktemp)"
out="$(mktemp)"
trap 'rm -f "$skips" "$out"' EXIT
export STEVEDORE_SKIP_LOG="$skips"

printf '\n=== cargo test --locked %s\n' "$*"
status=0
cargo test --locked "$@" 2>&1 | tee "$out" || status=$?

# libtest's per-binary lines: "test result: ok. 151 passed; 0 failed; 1 ignored; ..."
read -r passed failed ignored < <(
    sed -n 's/^test result: [A-Za-z]*\. \([0-9]*\) passed; \([0-9]*\) failed; \([0-9]*\) ignored;.*/\1 \2 \3/p' "$out" \
        | awk '{p += $1; f += $2; i += $3} END {print p + 0, f + 0, i + 0}'
)
skipped="$(sort -u "$skips" | grep -c . || true)"
if [ "$skipped" -gt 0 ]; then
    printf '\nSkipped (component missing):\n'
    sort -u "$skips" | sed 's/^/  /'
fi
printf '\n%s passed, %s failed, %s skipped (%s ignored: benchmarks, run with --ignored)\n' \
    "$((passed - skipped))" "$failed" "$skipped" "$ignored"
if [ "$status" -ne 0 ]; then
    exit "$status"
fi
if [ "$skipped" -gt 0 ] && [ -n "${CI:-}" ] && [ "${CI}" != false ] && [ "${CI}" != 0 ]; then
    echo "CI is set, yet tests were skipped" >&2
    exit 1
fi
