#!/usr/bin/env bash
# Benchmark: `stevedore image build` with BuildKit (context synced over the session) against
# `DOCKER_BUILDKIT=0 docker build` (context tarred and uploaded) on the same daemon.
# A 50,000-file tree whose node_modules (40,000 files) is excluded by .dockerignore; the
# Dockerfile copies src/ (10,000 files) so the context is really read. Measured:
#   cold     first build of a fresh tree (BuildKit has no synced copy of it yet)
#   one-file rebuild after changing one file under src/ (BuildKit asks for that file only)
# Prints median wall time, client peak RSS, and the ratios.
# Usage: bench/buildkit-build.sh [RUNS]   (default 3; needs the Docker Engine and the base image)
#        STEVEDORE_BIN=path/to/stevedore bench/buildkit-build.sh   (skip the release build)
set -euo pipefail
runs="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
bash "$repo/tests/support/base-image.sh" busybox:1.36 >/dev/null
if [ -z "${STEVEDORE_BIN:-}" ]; then
    (cd "$repo" && cargo build --release --locked --quiet)
fi
stevedore="${STEVEDORE_BIN:-$repo/target/release/stevedore}"
work="$(mktemp -d)"
tags=()
trap 'rm -rf "$work"; docker rmi -f "${tags[@]}" >/dev/null 2>&1 || true' EXIT

make_tree() { # dir
    mkdir -p "$1/environments/bench" "$1/docker/app/bench"
    printf 'FROM busybox:1.36\nCOPY src /src\nLABEL bench=1\n' > "$1/docker/app/bench/Dockerfile"
    printf 'node_modules\n' > "$1/.dockerignore"
    python3 - "$1" <<'PY'
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
}

once() { python3 "$repo/bench/measure.py" 1 -- "$@" | awk '{print $1, $2}'; }
cli_build() { (cd "$1" && DOCKER_BUILDKIT=0 once docker build -q -f docker/app/bench/Dockerfile -t "bench-bk-cli-$2:x" .); }
st_build() { (cd "$1" && STEVEDORE_PROJECT_NAME="bench-bk-st-$2" once "$stevedore" -q image build bench --builder buildkit); }

cold_cli=""; cold_st=""; re_cli=""; re_st=""
for i in $(seq 1 "$runs"); do
    echo "run $i: building trees ..." >&2
    make_tree "$work/cli$i"; make_tree "$work/st$i"
    tags+=("bench-bk-cli-$i:x" "bench-bk-st-$i-app:bench")
    sync; sleep 2
    cold_cli+="$(cli_build "$work/cli$i" "$i");"
    sync; sleep 2
    cold_st+="$(st_build "$work/st$i" "$i");"
    for dir in "$work/cli$i" "$work/st$i"; do
        echo "module.exports = 'changed $i';" > "$dir/src/d0042/f04200.js"
    done
    sync; sleep 2
    re_cli+="$(cli_build "$work/cli$i" "$i");"
    sync; sleep 2
    re_st+="$(st_build "$work/st$i" "$i");"
    rm -rf "$work/cli$i" "$work/st$i"
done

python3 - "$cold_cli" "$cold_st" "$re_cli" "$re_st" <<'PY'
import statistics, sys
def parse(text):
    runs = [tuple(map(float, r.split())) for r in text.split(";") if r.strip()]
    return statistics.median(t for t, _ in runs), max(m for _, m in runs), [t for t, _ in runs]
cold_cli, cold_st, re_cli, re_st = map(parse, sys.argv[1:5])
for name, cli, st in [("cold build", cold_cli, cold_st), ("one-file rebuild", re_cli, re_st)]:
    print(f"{name:<18} docker CLI (classic) {cli[0]:6.2f}s {cli[1]:6.1f} MiB | stevedore (BuildKit) {st[0]:6.2f}s {st[1]:6.1f} MiB | wall ratio {st[0] / cli[0]:.2f}")
    print(f"{'':<18} runs: docker CLI {', '.join(f'{t:.2f}' for t in cli[2])}; stevedore {', '.join(f'{t:.2f}' for t in st[2])}")
print(f"one-file rebuild vs the legacy CLI's rebuild: {re_st[0] / re_cli[0]:.2f}x")
PY
echo "runs per tool: $runs, interleaved (median wall time, max peak RSS of the client process)"
