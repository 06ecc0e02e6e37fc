#!/usr/bin/env bash
# Benchmark: `stevedore image build` against `DOCKER_BUILDKIT=0 docker build` on the same daemon.
#   (a) a 50,000-file tree whose node_modules (40,000 files) is excluded by .dockerignore
#   (b) a 1 GiB context (16 files of 64 MiB)
# The Dockerfile only adds a label, so the figures measure what the client does: walk, filter,
# tar and upload the context. Prints median wall time, client peak RSS and the ratios.
# Usage: bench/image-build.sh [RUNS]   (default 3; needs the Docker Engine and the base image)
#        STEVEDORE_BIN=path/to/stevedore bench/image-build.sh   (skip the release build)
set -euo pipefail
runs="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
bash "$repo/tests/support/base-image.sh" busybox:1.36 >/dev/null
if [ -z "${STEVEDORE_BIN:-}" ]; then
    (cd "$repo" && cargo build --release --locked --quiet)
fi
stevedore="${STEVEDORE_BIN:-$repo/target/release/stevedore}"
work="$(mktemp -d)"
trap 'rm -rf "$work"; docker rmi -f bench-cli:a bench-cli:b bench-a-app:bench bench-b-app:bench >/dev/null 2>&1 || true' EXIT

make_project() { # dir
    mkdir -p "$1/environments/bench" "$1/docker/app/bench"
    printf 'FROM busybox:1.36\nLABEL bench=1\n' > "$1/docker/app/bench/Dockerfile"
}

echo "building trees in $work ..."
a="$work/a"; make_project "$a"
printf 'node_modules\n' > "$a/.dockerignore"
python3 - "$a" <<'PY'
import os, sys
root = sys.argv[1]
def fill(base, count, per_dir):
    for i in range(count):
        d = os.path.join(root, base, f"d{i // per_dir:04d}")
        os.makedirs(d, exist_ok=True)
        with open(os.path.join(d, f"f{i:05d}.js"), "w") as f:
            f.write(f"module.exports = {i};\n" * 4)
fill("src", 10000, 100)
fill("node_modules", 40000, 200)
PY
b="$work/b"; make_project "$b"
mkdir -p "$b/data"
for i in $(seq 1 16); do head -c $((64 * 1024 * 1024)) /dev/urandom > "$b/data/blob$i.bin"; done

# One run of a command: "seconds peak_rss_mib".
once() { python3 "$repo/bench/measure.py" 1 -- "$@" | awk '{print $1, $2}'; }
# Interleave the two tools run by run (the daemon's disk writeback makes back-to-back runs of one
# tool slower than the next), settle the disk between runs, report medians and the worst RSS.
compare() { # name dir
    local name="$1" dir="$2" cli_runs="" st_runs=""
    for _ in $(seq 1 "$runs"); do
        sync; sleep 2
        cli_runs+="$(cd "$dir" && DOCKER_BUILDKIT=0 once docker build -q -f docker/app/bench/Dockerfile -t "bench-cli:$(basename "$dir")" .);"
        sync; sleep 2
        st_runs+="$(cd "$dir" && STEVEDORE_PROJECT_NAME="bench-$(basename "$dir")" once "$stevedore" -q image build bench);"
    done
    python3 - "$name" "$cli_runs" "$st_runs" <<'PY'
import statistics, sys
def parse(text):
    runs = [tuple(map(float, r.split())) for r in text.split(";") if r.strip()]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs), [t for t, _ in runs]
name, cli, st = sys.argv[1], parse(sys.argv[2]), parse(sys.argv[3])
print(f"{name:<42} docker CLI {cli[0]:6.2f}s {cli[1]:6.1f} MiB | stevedore {st[0]:6.2f}s {st[1]:6.1f} MiB"
      f" | wall ratio {st[0] / cli[0]:.2f}")
print(f"{'':<42} runs: docker CLI {', '.join(f'{t:.2f}' for t in cli[2])}; stevedore {', '.join(f'{t:.2f}' for t in st[2])}")
PY
}

compare "(a) 50,000 files, node_modules excluded" "$work/a"
compare "(b) 1 GiB context" "$work/b"
echo "runs per tool: $runs, interleaved (median wall time, max peak RSS of the client process)"
