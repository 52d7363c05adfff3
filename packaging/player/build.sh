#!/usr/bin/env bash
# Copies the share page's player scripts, at the versions pinned in
# package-lock.json, from the npm registry into assets/player, where
# go:embed takes them into the binary. Run after changing package.json;
# the test command runs it too and fails if the committed copies differ.
set -euo pipefail
cd "$(dirname "$0")"
npm ci --no-audit --no-fund --ignore-scripts --loglevel=error >/dev/null
out=../../assets/player
mkdir -p "$out"
cp node_modules/mpegts.js/dist/mpegts.js "$out/mpegts.js"
cp node_modules/mpegts.js/dist/mpegts.js.LICENSE.txt "$out/mpegts.js.LICENSE.txt"
cp node_modules/hls.js/dist/hls.min.js "$out/hls.min.js"
cp node_modules/hls.js/LICENSE "$out/hls.js.LICENSE.txt"
node -e 'for (const p of ["mpegts.js","hls.js"]) console.log(p, require("./node_modules/"+p+"/package.json").version)' > "$out/VERSIONS"
