#!/usr/bin/env python3
"""Benchmark: `stevedore start`/`down` against `docker-compose up -d`/`down` on the same daemon.

For 1, 5 and 10 services it times, per tool and per run: a cold start (nothing exists: network
and containers are created and started), a no-op re-run (nothing changed) and the teardown.
Each service is a busybox httpd with a few environment variables and a bind mount; every service
but the first depends on the first, and the first publishes a port. No health checks, so both
tools do the same work (`docker-compose up -d` would not wait for them).

It also times the daemon's floor for the same cold start: the Engine API calls alone (network
create; the first container created and started; the others created and started in parallel),
sent over the socket with no client logic, so what is left is the daemon's own work.

Usage: lifecycle.py STEVEDORE_BIN [RUNS] [SIZES]   e.g. lifecycle.py target/release/stevedore 5 1,5,10
Prints a Markdown table of medians (seconds) and the ratios stevedore / docker-compose.
"""
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

IMAGE = "busybox:1.36"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def compose_file(services, port):
    lines = ["services:"]
    for i in range(1, services + 1):
        name = f"s{i}"
        lines += [
            f"  {name}:",
            f"    image: {IMAGE}",
            "    command: [\"httpd\", \"-f\", \"-p\", \"8080\", \"-h\", \"/srv/www\"]",
            "    environment:",
            f"      SERVICE: {name}",
            "      LOG_LEVEL: info",
            "    volumes:",
            "      - ./www:/srv/www:ro",
        ]
        if i == 1:
            lines += ["    ports:", f"      - \"127.0.0.1:{port}:8080\""]
        else:
            lines += ["    depends_on: [s1]"]
    return "\n".join(lines) + "\n"


def timed(argv, cwd, env):
    start = time.monotonic()
    proc = subprocess.run(argv, cwd=cwd, env=env, stdout=subprocess.DEVNULL,
                          stderr=subprocess.PIPE, text=True)
    elapsed = time.monotonic() - start
    if proc.returncode != 0:
        sys.exit(f"failed ({proc.returncode}): {' '.join(argv)}\n{proc.stderr[-3000:]}")
    return elapsed


class EngineConnection(http.client.HTTPConnection):
    """HTTP to the Docker Engine's unix socket."""

    def __init__(self, path="/var/run/docker.sock"):
        super().__init__("localhost")
        self.path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.connect(self.path)


def engine(method, url, body=None):
    conn = EngineConnection()
    headers = {"Content-Type": "application/json"}
    conn.request(method, "/v1.41" + url, json.dumps(body) if body is not None else None, headers)
    response = conn.getresponse()
    data = response.read()
    conn.close()
    if response.status >= 400:
        sys.exit(f"Engine API {method} {url}: {response.status} {data[:300]!r}")
    return data


def floor(services, runs):
    """Median seconds of the bare Engine API calls of a cold start of `services` services."""
    times = []
    for run in range(runs):
        project = f"benchfloor{os.getpid()}{services}{run}"
        network = f"{project}_default"

        def one(i):
            name = f"{project}-s{i}-1"
            engine("POST", f"/containers/create?name={name}", {
                "Image": IMAGE,
                "Cmd": ["httpd", "-f", "-p", "8080"],
                "HostConfig": {"NetworkMode": network},
            })
            engine("POST", f"/containers/{name}/start")

        start = time.monotonic()
        engine("POST", "/networks/create", {"Name": network})
        one(1)
        threads = [threading.Thread(target=one, args=(i,)) for i in range(2, services + 1)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        times.append(time.monotonic() - start)
        for i in range(1, services + 1):
            engine("DELETE", f"/containers/{project}-s{i}-1?force=1")
        engine("DELETE", f"/networks/{network}")
    return statistics.median(times)


def run_tool(tool, stevedore, root, project, runs):
    env = dict(os.environ)
    env["STEVEDORE_PROJECT_NAME"] = "bench"
    compose = os.path.join(root, "docker/app/bench/docker-compose.yml")
    if tool == "docker-compose":
        base = ["docker-compose", "--no-ansi", "-p", project, "-f", compose]
        up, down = base + ["up", "-d"], base + ["down", "-t", "1"]
    else:
        base = ["-f", compose, "-p", project]
        up = [stevedore, "-q", "start", "bench", "--detach"] + base
        down = [stevedore, "-q", "down", "bench", "-t", "1"] + base
    figures = {"cold": [], "noop": [], "down": []}
    for _ in range(runs):
        figures["cold"].append(timed(up, root, env))
        figures["noop"].append(timed(up, root, env))
        figures["down"].append(timed(down, root, env))
    return {k: statistics.median(v) for k, v in figures.items()}


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    stevedore = os.path.abspath(sys.argv[1])
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 3
    sizes = [int(n) for n in (sys.argv[3] if len(sys.argv) > 3 else "1,5,10").split(",")]
    rows = []
    for size in sizes:
        root = tempfile.mkdtemp(prefix="stevedore-bench-")
        try:
            os.makedirs(os.path.join(root, "environments/bench"))
            os.makedirs(os.path.join(root, "docker/app/bench/www"))
            with open(os.path.join(root, "docker/app/bench/www/index.html"), "w") as f:
                f.write("bench\n")
            with open(os.path.join(root, "docker/app/bench/docker-compose.yml"), "w") as f:
                f.write(compose_file(size, free_port()))
            tag = f"{os.getpid()}{size}"
            dc = run_tool("docker-compose", stevedore, root, f"benchdc{tag}", runs)
            sd = run_tool("stevedore", stevedore, root, f"benchsd{tag}", runs)
            rows.append((size, dc, sd, floor(size, runs)))
        finally:
            shutil.rmtree(root, ignore_errors=True)
    print(f"Medians of {runs} runs, seconds (stevedore / docker-compose in brackets).\n")
    print("| services | cold start: docker-compose | cold start: stevedore | cold start: daemon "
          "floor | no-op re-run: docker-compose | no-op re-run: stevedore | teardown: "
          "docker-compose | teardown: stevedore |")
    print("|---:|---:|---:|---:|---:|---:|---:|---:|")
    for size, dc, sd, bare in rows:
        cells = []
        for key in ("cold", "noop", "down"):
            cells.append(f"{dc[key]:.3f}")
            cells.append(f"{sd[key]:.3f} ({sd[key] / dc[key]:.2f}×)")
            if key == "cold":
                cells.append(f"{bare:.3f} ({bare / dc[key]:.2f}×)")
        print(f"| {size} | " + " | ".join(cells) + " |")


if __name__ == "__main__":
    main()
