#!/usr/bin/env python3
"""Run a command N times; print the median wall time (s) and the peak RSS (MiB) of the process
tree's largest child, measured with wait4's rusage (ru_maxrss of the waited-for child).

Usage: measure.py RUNS -- CMD [ARG...]   (env and cwd are inherited)
Prints one line: `median_s max_rss_mib runs`.
"""
import os
import statistics
import subprocess
import sys
import time


def run_once(argv):
    start = time.monotonic()
    proc = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(proc.pid, 0)
    elapsed = time.monotonic() - start
    stderr = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        sys.stderr.write(f"command failed ({code}): {' '.join(argv)}\n{stderr[-2000:]}\n")
        sys.exit(1)
    return elapsed, usage.ru_maxrss / 1024.0  # Linux reports KiB


def main():
    if len(sys.argv) < 4 or sys.argv[2] != "--":
        sys.exit(__doc__)
    runs = int(sys.argv[1])
    argv = sys.argv[3:]
    times, peaks = [], []
    for _ in range(runs):
        elapsed, rss = run_once(argv)
        times.append(elapsed)
        peaks.append(rss)
    print(f"{statistics.median(times):.3f} {max(peaks):.1f} {runs}")


if __name__ == "__main__":
    main()
