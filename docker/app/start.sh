#!/bin/sh
# Container entrypoint: run the `web:` process of environments/$ENV_NAME/Procfile, as the
# dockdj start.sh ran its Procfile through honcho.
set -eu
cd /var/app
procfile="environments/${ENV_NAME:?ENV_NAME must be set}/Procfile"
command="$(sed -n 's/^web:[[:space:]]*//p' "$procfile")"
[ -n "$command" ] || { echo "no web: process in $procfile" >&2; exit 1; }
echo "start.sh: $command"
exec sh -c "$command"
