#!/bin/sh
# Runs the command it is given (kadra-service <name>, kadra-gateway, or any
# other program in the image) as PID 1 via exec, so SIGTERM from the container
# runtime reaches nameko / gunicorn directly and they shut down gracefully.
set -eu
if [ "$#" -eq 0 ]; then
    set -- kadra-gateway
fi
exec "$@"
