#!/usr/bin/env bash
# Benchmark: what `stevedore deploy` adds to Elastic Beanstalk's own time, on the loopback rig
# (Docker Engine, docker-registry, the S3 server, the EB emulator), for a 1 MiB bundle.
# Overhead = wall time - EB's processing of the new version - EB's update (UpdateEnvironment to
# its closing event): resolving settings, bundling, S3, the API calls, and noticing the end.
# Runs the ignored test `deploy::bench_deploy_overhead` (the test profile, not release: the
# figures are conservative). Usage: bench/deploy.sh [REDEPLOYS]   (default 3 of each version)
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
cd "$repo"
STEVEDORE_BENCH_RUNS="${1:-3}" cargo test --locked --test it deploy::bench_deploy_overhead \
    -- --ignored --nocapture 2>&1 | grep '^BENCH' | sed 's/^BENCH //'
