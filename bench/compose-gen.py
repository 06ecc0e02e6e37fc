#!/usr/bin/env python3
"""Write a compose file of about SIZE bytes shaped like big real ones: shared `x-` anchors whose
mappings merge other anchors (`<<: *base` inside `&app`), services that merge those and their
own nested maps, list merges, aliases used as values, healthchecks and labels.
Usage: compose-gen.py SIZE_BYTES OUT_PATH"""
import sys

size, out = int(sys.argv[1]), sys.argv[2]
head = """x-logging: &logging
  driver: json-file
  options:
    max-size: 10m
x-env: &base-env
  TZ: UTC
  LOG_LEVEL: info
x-base: &base
  restart: unless-stopped
  logging: *logging
  environment: &env
    <<: *base-env
    SERVICE_MESH: "on"
  labels: &labels
    com.example.team: platform
x-app: &app
  <<: *base
  image: registry.example.com/app:1.0
  user: "1000"
  environment:
    <<: *env
    APP_MODE: web
  labels:
    <<: *labels
    com.example.tier: app
x-worker: &worker
  <<: [*app, *base]
  command: ["worker", "--queue", "default"]
services:
"""
parts = [head]
total = len(head)
i = 0
while total < size:
    kind = "app" if i % 3 else "worker"
    block = f"""  svc{i:05d}:
    <<: *{kind}
    container_name: svc{i:05d}
    working_dir: /srv/svc{i:05d}
    environment:
      <<: *env
      SVC_INDEX: "{i}"
      SVC_URL: http://svc{i:05d}:8080/
    labels:
      <<: *labels
      com.example.service: svc{i:05d}
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"]
      interval: 30s
      timeout: 5s
      retries: 3
    ports:
      - "{20000 + i % 40000}:8080"
"""
    parts.append(block)
    total += len(block)
    i += 1
with open(out, "w") as f:
    f.write("".join(parts))
print(f"{out}: {total} bytes, {i} services", file=sys.stderr)
