#!/usr/bin/env bash
# Installs what building and running Chalkcast needs (not the test peers
# or the packaging tools), then runs it. Arguments go to chalkcast:
#   packaging/run.sh              the studio window
#   packaging/run.sh serve        headless server (same as --headless)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(packaging/setup.sh run | tail -n 1)
export GOTOOLCHAIN=auto
exec "$GO" run . "$@"
