#!/usr/bin/env bash
# Installs what the tests need, then runs every check: formatting, vet,
# all tests with the race detector (real ffmpeg/ffprobe peers on
# loopback), and a short run of every fuzz target.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=$(packaging/setup.sh | tail -n 1)
export GOTOOLCHAIN=auto

# The embedded player scripts must be exactly what the lockfile pins.
packaging/player/build.sh
if ! git diff --quiet -- assets/player; then
  echo "assets/player differs from packaging/player/package-lock.json: run packaging/player/build.sh and commit" >&2
  git diff --stat -- assets/player >&2
  exit 1
fi

unformatted=$("$(dirname "$(command -v "$GO")")/gofmt" -l $(git ls-files '*.go') 2>/dev/null || true)
if [ -n "$unformatted" ]; then
  echo "gofmt would change: $unformatted" >&2
  exit 1
fi
"$GO" vet ./...
# One package at a time: the browser and encoding tests each want the two
# cores to keep real time.
"$GO" test -race -p 1 -count=1 -timeout 20m ./...
# Frame rates and keyframe spacing of the capture path, which the race
# detector's slowdown of per-pixel code hides (internal/mediatest).
"$GO" test -count=1 -timeout 5m ./sources/capture ./media/encode

# The real studio in a real window (Xvfb): it must come up, go live and be
# photographed.
shot_dir=$(mktemp -d)
GO="$GO" packaging/screenshot.sh "$shot_dir/screenshot.png"
test -s "$shot_dir/screenshot.png"
rm -rf "$shot_dir"

# Fuzz targets, briefly each (their seed corpora already ran above).
# A count rather than a duration: a duration can end the run with
# "context deadline exceeded" while a worker is busy on a loaded machine.
FUZZTIME=${FUZZTIME:-100000x}
for pkg in $("$GO" list ./...); do
  dir=$("$GO" list -f '{{.Dir}}' "$pkg")
  for target in $(grep -ho '^func Fuzz[A-Za-z0-9_]*' "$dir"/*_test.go 2>/dev/null | sed 's/^func //' | sort -u); do
    echo "fuzz $pkg $target for $FUZZTIME"
    if ! out=$("$GO" test -run='^$' -fuzz="^${target}\$" -fuzztime="$FUZZTIME" "$pkg" 2>&1); then
      echo "$out" >&2
      exit 1
    fi
  done
done

# The packages: the Linux package and the Windows executable are built and
# checked, so that packaging cannot rot.
GO="$GO" packaging/build.sh
echo "all checks passed"
