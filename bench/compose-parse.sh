#!/usr/bin/env bash
# Benchmark: load a compose file with nested anchors (bench/compose-gen.py) of 100 KB, 400 KB and
# 1 MB with stevedore's loader (examples/compose_parse.rs: read, parse, merge keys, interpolate,
# normalise, validate) against `docker-compose config` (Debian's 1.29) on the same file.
# Prints the median wall time of RUNS runs for each.
# Usage: bench/compose-parse.sh [RUNS]   (default 3)
set -euo pipefail
runs="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
(cd "$repo" && cargo build --release --locked --quiet --example compose_parse)
parse="$repo/target/release/examples/compose_parse"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

median() { sort -n | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
timed() { # command... -> seconds
    local start end
    start=$(date +%s.%N)
    "$@" >/dev/null 2>&1
    end=$(date +%s.%N)
    echo "$end - $start" | bc
}

printf '%-8s %-10s %-22s %-22s\n' size services "stevedore (s)" "docker-compose config (s)"
for size in 100000 400000 1000000; do
    file="$work/compose-$size.yml"
    python3 "$repo/bench/compose-gen.py" "$size" "$file" 2>/dev/null
    services=$(grep -c '^  svc' "$file")
    ours=$(for _ in $(seq "$runs"); do timed "$parse" "$file"; done | median)
    if command -v docker-compose >/dev/null; then
        theirs=$(for _ in $(seq "$runs"); do timed docker-compose -f "$file" config -q; done | median)
    else
        theirs="(not installed)"
    fi
    printf '%-8s %-10s %-22s %-22s\n' "$size" "$services" "$ours" "$theirs"
done
