#!/usr/bin/env bash
# Benchmark: `stevedore bundle` against the EB CLI's own zipping of the same project, a
# 20,000-file, ~200 MiB tree with a .ebignore. The EB CLI side is awsebcli from PyPI calling
# exactly what `eb deploy` calls for a project with a .ebignore (commonops._zip_up_project):
# fileoperations.get_ebignore_list() (pathspec over the whole tree), then
# fileoperations.zip_up_project() (os.walk + zipfile, ZIP_DEFLATED).
# awsebcli goes into a throwaway venv under /tmp (never into CI).
# Prints median wall time and peak RSS of each, the ratio, and checks both zips hold the same
# project files. Usage: bench/bundle.sh [RUNS]   (default 3)
#        STEVEDORE_BIN=path/to/stevedore bench/bundle.sh   (skip the release build)
set -euo pipefail
runs="${1:-3}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
venv="${STEVEDORE_BENCH_EBCLI_VENV:-/tmp/stevedore-bench-ebcli}"
if ! "$venv/bin/python" -c 'import ebcli' 2>/dev/null; then
    echo "installing awsebcli into $venv ..."
    python3 -m venv "$venv"
    "$venv/bin/pip" install --quiet --disable-pip-version-check awsebcli
fi
eb_version="$("$venv/bin/python" -c 'import ebcli; print(ebcli.__version__)')"
pathspec_version="$("$venv/bin/python" -c 'import pathspec; print(pathspec.__version__)')"
if [ -z "${STEVEDORE_BIN:-}" ]; then
    (cd "$repo" && cargo build --release --locked --quiet)
fi
stevedore="${STEVEDORE_BIN:-$repo/target/release/stevedore}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
project="$work/project"
mkdir -p "$project" "$work/out"

echo "building the tree in $project ..."
python3 - "$project" <<'PY'
import os, random, sys
root = sys.argv[1]
rng = random.Random(20240501)

def write(rel, data):
    path = os.path.join(root, rel)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)

def source(size):
    lines, n = [], 0
    while n < size:
        line = f"export function f{rng.randrange(10**6)}(x) {{ return x * {rng.randrange(1000)} + {rng.random():.6f}; }}\n"
        lines.append(line)
        n += len(line)
    return "".join(lines).encode()

files = 0
for i in range(5000):                      # included: source, compressible
    write(f"src/m{i // 100:03d}/f{i:05d}.js", source(4096)); files += 1
for i in range(500):                       # included: docs, compressible
    write(f"docs/d{i // 50:02d}/p{i:04d}.md", source(16384)); files += 1
for i in range(1500):                      # included: images and fonts, incompressible
    write(f"assets/a{i // 100:02d}/img{i:04d}.png", rng.randbytes(65536)); files += 1
for i in range(10990):                     # excluded: node_modules/
    write(f"node_modules/pkg{i // 50:03d}/lib/f{i:05d}.js", source(4096)); files += 1
for i in range(2000):                      # excluded: .git/
    write(f".git/objects/{i % 256:02x}/{i:038x}", rng.randbytes(16384)); files += 1
for i in range(5):                         # excluded: *.log, but keep.log is re-included
    write(f"logs/run{i}.log", source(1024)); files += 1
write("logs/keep.log", b"kept\n"); files += 1
# The project files of both tools.
write(".elasticbeanstalk/config.yml", b"global:\n  application_name: bench\n"); files += 1
write("docker/app/bench/Dockerfile", b"FROM busybox:1.36\n"); files += 1
write("environments/bench/Dockerrun.aws.json",
      b'{"AWSEBDockerrunVersion": 2, "containerDefinitions": [{"name": "app", '
      b'"image": "bench.local/app:bench", "essential": true, "memory": 128}]}\n'); files += 1
write(".ebignore", b"node_modules/\n.git/\n*.log\n!keep.log\ntmp/\n"); files += 1
total = sum(os.path.getsize(os.path.join(d, f)) for d, _, fs in os.walk(root) for f in fs)
print(f"{files} files, {total / 2**20:.0f} MiB")
PY

cat > "$work/eb_zip.py" <<'PY'
# What `eb deploy` does to build the bundle of a project that has a .ebignore.
import sys
from ebcli.core import fileoperations
ignore = fileoperations.get_ebignore_list()
fileoperations.zip_up_project(sys.argv[1], ignore_list=ignore)
PY

measure() { python3 "$repo/bench/measure.py" "$runs" -- "$@"; }
st=$(cd "$project" && STEVEDORE_REPOSITORY=bench.local/app STEVEDORE_PROJECT_NAME=bench \
    measure "$stevedore" -q bundle bench 1.0.0 --allow-unpinned -o "$work/out/stevedore.zip")
eb=$(cd "$project" && measure "$venv/bin/python" "$work/eb_zip.py" "$work/out/eb.zip")
read -r st_s st_rss _ <<<"$st"
read -r eb_s eb_rss _ <<<"$eb"

python3 - "$work/out/stevedore.zip" "$work/out/eb.zip" <<'PY'
import os, sys, zipfile
ours, theirs = (zipfile.ZipFile(p) for p in sys.argv[1:3])
def files(z):
    names = {i.filename[2:] if i.filename.startswith("./") else i.filename for i in z.infolist()}
    return {n for n in names if n and not n.endswith("/")}
staged = {"Dockerrun.aws.json"}
a, b = files(ours) - staged, files(theirs)
if a != b:
    sys.exit(f"the zips differ: only stevedore {sorted(a - b)[:5]}, only EB CLI {sorted(b - a)[:5]}")
print(f"same {len(a)} project files in both zips; sizes: stevedore "
      f"{os.path.getsize(sys.argv[1]) / 2**20:.1f} MiB, EB CLI {os.path.getsize(sys.argv[2]) / 2**20:.1f} MiB")
PY
ratio=$(python3 -c "print(f'{$eb_s / $st_s:.1f}')")
printf 'EB CLI %s (pathspec %s): %.2fs, %.0f MiB peak | stevedore: %.2fs, %.0f MiB peak | stevedore is %sx faster\n' \
    "$eb_version" "$pathspec_version" "$eb_s" "$eb_rss" "$st_s" "$st_rss" "$ratio"
echo "runs per figure: $runs (median wall time, max peak RSS); $(nproc) CPU(s)"
