#!/bin/sh
# One HTTP/1.0 exchange: read the request line, fetch the same path from $UPSTREAM, answer with
# its status and body. Small enough for busybox; the demo needs GET only.
read -r method path _ || exit 0
# A bare TCP connect (the health check) sends nothing: answer nothing, log nothing.
[ -n "$method" ] || exit 0
while read -r header && [ "$(printf '%s' "$header" | tr -d '\r')" != "" ]; do :; done
body="$(mktemp)"
if wget -q -O "$body" "http://${UPSTREAM:-app:8080}${path}"; then
    status="200 OK"
else
    status="502 Bad Gateway"
    echo "upstream ${UPSTREAM:-app:8080} failed for $path" > "$body"
fi
printf 'HTTP/1.0 %s\r\nContent-Length: %s\r\nX-Proxy: stevedore-demo\r\nConnection: close\r\n\r\n' \
    "$status" "$(wc -c < "$body" | tr -d ' ')"
cat "$body"
rm -f "$body"
echo "proxy: $method $path -> $status" >&2
