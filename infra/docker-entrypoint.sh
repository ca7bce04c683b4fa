#!/bin/sh
# Entry point of the Duet images (infra/Dockerfile.cpu, infra/Dockerfile.gpu): one image for every
# component, the role is the first argument and the rest are that component's flags.
#
#   duet-entrypoint gateway  --models demo=/app/models/demo --host 0.0.0.0
#   duet-entrypoint router   --nats-url nats://duet-nats:4222
#   duet-entrypoint prefill  --model-dir /models ...   (the worker, --role prefill)
#   duet-entrypoint decode   --model-dir /models ...   (the worker, --role decode)
#   duet-entrypoint worker   --role both ...
#   duet-entrypoint operator [flags]
#   duet-entrypoint duet     model create ...           (the CLI)
#
# `exec` makes the component PID 1's direct replacement, so SIGTERM reaches it (workers drain on it).
# DUET_ENTRYPOINT_DRY_RUN=1 prints the command instead of running it (used by the image tests).
set -eu

ROLES="gateway router prefill decode worker operator duet"
role="${1:-help}"
[ "$#" -gt 0 ] && shift

run() {
  if [ "${DUET_ENTRYPOINT_DRY_RUN:-}" = "1" ]; then
    printf '%s\n' "$*"
    exit 0
  fi
  exec "$@"
}

case "$role" in
  gateway) run node --import tsx services/gateway/src/main.ts "$@" ;;
  router) run node --import tsx services/router/src/main.ts "$@" ;;
  prefill | decode) run node --import tsx services/worker/src/main.ts --role "$role" "$@" ;;
  worker) run node --import tsx services/worker/src/main.ts "$@" ;;
  operator) run node --import tsx operator/src/main.ts "$@" ;;
  duet) run node services/cli/bin/duet.js "$@" ;;
  help | -h | --help)
    echo "usage: <role> [flags]   roles: $ROLES"
    exit 0
    ;;
  *)
    echo "duet-entrypoint: unknown role \"$role\" (expected one of: $ROLES)" >&2
    exit 64
    ;;
esac
