#!/usr/bin/env bash
# Benchmark: the price of the secret guard's content sniffing on a build-context walk.
# Builds a 30,000-file tree (~250 MiB: source-like files of 1-32 KiB, 2% assets of 1-4 MiB, a
# handful of planted secrets), then walks it with Docker's ignore rules and runs the secret scan
# by name only and with content sniffing (first 8 KiB of files up to 1 MiB), interleaved, and
# prints the median of each and the ratio. Warm page cache on both sides.
# Usage: bench/secret-sniff.sh [RUNS]   (default 5)
#        PROFILE=release bench/secret-sniff.sh   (optimised build; default: the test profile)
set -euo pipefail
runs="${1:-5}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
echo "building the tree in $work/tree ..."
python3 - "$work/tree" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20261204)
def write(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
for i in range(30000):
    d = f"pkg{i % 300}/mod{i % 17}"
    if i % 50 == 0:
        write(f"{d}/asset{i}.bin", os.urandom(rng.randint(1, 4) << 20))
    else:
        line = b"fn f() { let x = 1; }  // source text, nothing secret here\n"
        write(f"{d}/file{i}.rs", line * (rng.randint(1024, 32768) // len(line)))
write("ops/notes.txt", b"-----BEGIN OPENSSH PRIVATE KEY-----\nb3BlbnNzaC1rZXktdjEAAAAABG5vbmUAAAAEbm9uZQ\n")
write("ops/server.key", b"x")
PY
flag=()
[ "${PROFILE:-}" = release ] && flag=(--release)
cd "$repo"
STEVEDORE_BENCH_TREE="$work/tree" STEVEDORE_BENCH_RUNS="$runs" \
    cargo test "${flag[@]}" --lib secrets::bench -- --ignored --nocapture 2>&1 | grep '^files='
