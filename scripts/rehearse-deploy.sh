#!/usr/bin/env bash
# Rehearse the deploy half of stevedore on one machine, with no AWS account and no internet:
# a real v2 registry (Debian's docker-registry), the test rig's S3 server and Elastic Beanstalk
# emulator (`cargo run --example ebsim`, which runs the deployed containers in the local Docker
# Engine), and a copy of the bundled demo app in a temporary git repository. Then, as a release
# engineer would: release (which builds) -> publish -> deploy -> status --remote, a second
# version, and a rollback to the first. Everything it starts or creates is removed at the end.
#
# Usage: bash scripts/rehearse-deploy.sh        (STEVEDORE_REHEARSAL_KEEP=1 keeps the work dir)
set -euo pipefail
cd "$(dirname "$0")/.."
repo="$PWD"

step() { printf '\n\033[1m>>> %s\033[0m\n' "$*"; }
[ -t 1 ] || step() { printf '\n>>> %s\n' "$*"; }
as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

step "set-up: the registry package, the offline base image, the binaries"
if ! command -v docker-registry >/dev/null; then
    as_root apt-get update -qq
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends docker-registry
fi
bash tests/support/base-image.sh
cargo build --locked --quiet --bin stevedore --example ebsim
stevedore="$repo/target/debug/stevedore"
ebsim="$repo/target/debug/examples/ebsim"

work="$(mktemp -d /tmp/stevedore-rehearsal.XXXXXX)"
cleanup() {
    status=$?
    step "clean-up"
    # ebsim removes its containers, networks and pulled images on SIGINT (it handles the signal
    # itself; a background job of a script otherwise ignores SIGINT), the registry stops on TERM.
    [ -z "${ebsim_pid:-}" ] || kill -INT "$ebsim_pid" 2>/dev/null || true
    [ -z "${registry_pid:-}" ] || kill -TERM "$registry_pid" 2>/dev/null || true
    for pid in ${ebsim_pid:-} ${registry_pid:-}; do
        for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
    done
    docker image ls --format '{{.Repository}}:{{.Tag}}' \
        | grep -E "^(rehearsal-|127\.0\.0\.1:${port:-0}/)" | xargs -r docker rmi -f >/dev/null 2>&1 || true
    if [ -z "${STEVEDORE_REHEARSAL_KEEP:-}" ]; then rm -rf "$work"; else echo "kept $work"; fi
    exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

step "a v2 registry on 127.0.0.1 (Debian's docker-registry)"
port="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
cat > "$work/registry.yml" <<YAML
version: 0.1
log: {level: error}
storage: {filesystem: {rootdirectory: $work/registry}, delete: {enabled: true}}
http: {addr: 127.0.0.1:$port, secret: rehearsal}
YAML
docker-registry serve "$work/registry.yml" >"$work/registry.log" 2>&1 &
registry_pid=$!
for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
echo "registry: http://127.0.0.1:$port"

step "the S3 server and the Elastic Beanstalk emulator, with application stevedore-demo and environment stevedore-demo-prod"
"$ebsim" --health-path /health --create stevedore-demo/stevedore-demo-prod >"$work/ebsim.out" 2>"$work/ebsim.log" &
ebsim_pid=$!
for _ in $(seq 1 300); do grep -q '^# created application' "$work/ebsim.out" 2>/dev/null && break; sleep 0.1; done
grep -q '^# created application' "$work/ebsim.out" || { cat "$work/ebsim.out" "$work/ebsim.log"; exit 1; }
cat "$work/ebsim.out"
eval "$(grep '^export ' "$work/ebsim.out")"
export AWS_EC2_METADATA_DISABLED=true STEVEDORE_S3_PATH_STYLE=1 STEVEDORE_ACTOR=rehearsal

step "a copy of the demo app (the files git tracks) in its own git repository, with an origin"
demo="$work/demo"
mkdir -p "$demo"
git -C "$repo" ls-files -z -- app docker environments .dockerignore .ebignore stevedore.toml \
    | (cd "$repo" && xargs -0 tar -cf -) | tar -C "$demo" -xf -
printf 'environments/*/.env\n*.zip\n' >"$demo/.gitignore"
git init -q --bare "$work/origin.git"
(
    cd "$demo"
    git init -q -b main
    git -c user.name=Rehearsal -c user.email=rehearsal@example.com add -A
    git -c user.name=Rehearsal -c user.email=rehearsal@example.com commit -q -m "demo app"
    git remote add origin "$work/origin.git"
)
export GIT_AUTHOR_NAME=Rehearsal GIT_AUTHOR_EMAIL=rehearsal@example.com
export GIT_COMMITTER_NAME=Rehearsal GIT_COMMITTER_EMAIL=rehearsal@example.com
export STEVEDORE_PROJECT_NAME="rehearsal-$$" STEVEDORE_REPOSITORY="127.0.0.1:$port/stevedore-demo"
sd() { printf '$ stevedore %s\n' "$*" >&2; "$stevedore" -C "$demo" "$@"; }

ship() {
    sd release prod "$1"
    sd publish prod "$1"
    sd deploy prod "$1"
}

step "version 1.0.0: release (builds the images for 1.0.0), publish, deploy"
ship 1.0.0
sd status prod --remote

step "version 1.1.0: a change to the page, shipped the same way"
sed -i 's|</h1>|</h1><p>rehearsal 1.1.0</p>|' "$demo/app/www/index.html"
git -C "$demo" commit -q -am "page: say 1.1.0"
ship 1.1.0

step "rollback: back to the previous healthy version, no build, no upload"
sd rollback prod --yes
sd history prod

step "where the environment is now"
sd status prod --remote --json >"$work/status.json"
sd status prod --remote
python3 - "$work/status.json" <<'PY'
import json, sys, urllib.request
summary = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][-1]
state = (summary.get("data") or {}).get("state") or {}
version, health, endpoint = state.get("version_label"), state.get("health"), state.get("endpoint_url")
print(f"deployed version: {version}, health: {health}, endpoint: {endpoint}")
if endpoint:
    url = endpoint if "://" in endpoint else f"http://{endpoint}"
    body = urllib.request.urlopen(url.rstrip("/") + "/health", timeout=10).read().decode()
    print(f"GET {url.rstrip('/')}/health -> {body.strip()}")
if version != "1.0.0" or health != "Green":
    sys.exit(f"expected 1.0.0 and Green after the rollback, got {version!r} and {health!r}")
PY
