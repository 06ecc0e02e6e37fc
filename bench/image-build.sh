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

measure() { python3 "$repo/bench/measure.py" "$runs" -- "$@"; }
report() { # name cli_line stevedore_line
    read -r cli_s cli_rss _ <<<"$2"
    read -r st_s st_rss _ <<<"$3"
    ratio=$(python3 -c "print(f'{$st_s / $cli_s:.2f}')")
    printf '%-34s docker CLI %7.2fs %7.1f MiB | stevedore %7.2fs %7.1f MiB | wall ratio %s\n' \
        "$1" "$cli_s" "$cli_rss" "$st_s" "$st_rss" "$ratio"
}

for case in a b; do
    dir="$work/$case"
    cli=$(cd "$dir" && DOCKER_BUILDKIT=0 measure docker build -q -f docker/app/bench/Dockerfile -t "bench-cli:$case" .)
    st=$(cd "$dir" && STEVEDORE_PROJECT_NAME="bench-$case" measure "$stevedore" -q image build bench)
    case $case in
        a) report "(a) 50,000 files, node_modules excluded" "$cli" "$st" ;;
        b) report "(b) 1 GiB context" "$cli" "$st" ;;
    esac
done
echo "runs per figure: $runs (median wall time, max peak RSS of the client process)"
