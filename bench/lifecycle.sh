#!/usr/bin/env bash
# Benchmark: `stevedore start`/`down` against `docker-compose up -d`/`down` (Debian's 1.29) on
# the same daemon, for 1, 5 and 10 services: cold start, no-op re-run, teardown. See
# bench/lifecycle.py for what the services are. Run it on a quiet machine.
# Usage: bench/lifecycle.sh [RUNS] [SIZES]   (default 5 and 1,5,10)
#        STEVEDORE_BIN=path/to/stevedore bench/lifecycle.sh   (skip the release build)
set -euo pipefail
runs="${1:-5}"
sizes="${2:-1,5,10}"
repo="$(cd "$(dirname "$0")/.." && pwd)"
command -v docker-compose >/dev/null || { echo "docker-compose not found (apt-get install docker-compose)" >&2; exit 1; }
bash "$repo/tests/support/base-image.sh" busybox:1.36 >/dev/null
if [ -z "${STEVEDORE_BIN:-}" ]; then
    (cd "$repo" && cargo build --release --locked --quiet)
fi
stevedore="${STEVEDORE_BIN:-$repo/target/release/stevedore}"
echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg); $(docker-compose version --short 2>/dev/null | sed 's/^/docker-compose /'); Docker Engine $(docker version --format '{{.Server.Version}}')"
python3 "$repo/bench/lifecycle.py" "$stevedore" "$runs" "$sizes"
