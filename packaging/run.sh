#!/usr/bin/env bash
# Installs what Chalkcast needs, then runs it. Arguments go to chalkcast:
#   packaging/run.sh              the studio window
#   packaging/run.sh serve        headless server (same as --headless)
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(packaging/setup.sh | tail -n 1)
export GOTOOLCHAIN=auto
exec "$GO" run . "$@"
