#!/usr/bin/env bash
# Runs the real Chalkcast studio in a real window on a virtual X server
# (Xvfb), goes live with the test pattern, connects a viewer, and saves a
# PNG of the window. It also measures how long the window takes to appear
# and what the studio costs on top of the engine, shown and minimized: the
# same stream is run headless for the same time and the CPU figures are
# compared.
#
#   packaging/screenshot.sh [out.png]      (default: packaging/screenshot.png)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-packaging/screenshot.png}
GO=${GO:-$(packaging/setup.sh | tail -n 1)}
export GOTOOLCHAIN=auto
WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT

"$GO" build -o "$WORK/chalkcast" .

# Xvfb picks a free display and writes its number once it listens; it
# does not reset when its last client leaves (-noreset), which would refuse
# the studio connecting just as a probe by xdotool ends
exec 3< <(Xvfb -displayfd 1 -noreset -screen 0 1280x900x24 -nolisten tcp 2>/dev/null)
PIDS+=($!)
read -r -t 10 DISPLAY_NUM <&3 || { echo "Xvfb did not start" >&2; exit 1; }
export DISPLAY=":$DISPLAY_NUM"

HTTP=127.0.0.1:$((20000 + RANDOM % 10000))
RTMP=127.0.0.1:$((30000 + RANDOM % 10000))
# a fresh user: its own config (preferences) and data folders
export HOME="$WORK/home" XDG_CONFIG_HOME="$WORK/home/.config"
mkdir -p "$HOME"

cpu_of() { awk '{print $14 + $15}' "/proc/$1/stat"; } # user + system, in ticks

start=$(date +%s%N)
"$WORK/chalkcast" --data "$WORK/data" --http "$HTTP" --rtmp "$RTMP" --rtsp 127.0.0.1:0 --rtsp-udp-port 0 --webrtc-udp 0 --webrtc-tcp 0 --log-level warn >"$WORK/studio.log" 2>&1 &
STUDIO=$!
PIDS+=($STUDIO)
until xdotool search --onlyvisible --name '^Chalkcast$' >/dev/null 2>&1; do
  kill -0 $STUDIO 2>/dev/null || { cat "$WORK/studio.log" >&2; echo "the studio exited" >&2; exit 1; }
  [ $(( ($(date +%s%N) - start) / 1000000 )) -lt 20000 ] || { echo "no window after 20 s" >&2; exit 1; }
  sleep 0.02
done
shown_ms=$(( ($(date +%s%N) - start) / 1000000 ))
echo "window shown ${shown_ms} ms after launch"

api() { curl -sf -X "$1" -H 'Content-Type: application/json' "http://$HTTP/api/v1/$2" ${3:+-d "$3"}; }
until api GET server >/dev/null; do sleep 0.05; done
api POST streams '{"name":"maths","title":"Grade 8 Maths","source":{"type":"testpattern"}}' >/dev/null
api POST streams '{"name":"obs","title":"From OBS"}' >/dev/null
curl -sf "http://$HTTP/live/maths.flv" -o /dev/null --max-time 40 &
PIDS+=($!)

# the studio's CPU with one live stream and the window open
sleep 8
c0=$(cpu_of $STUDIO); sleep 20; c1=$(cpu_of $STUDIO)
studio_pct=$(( (c1 - c0) * 100 / 20 / 100 ))
studio_ms=$(( (c1 - c0) * 10 ))
rss=$(awk '/VmRSS/ {print $2}' "/proc/$STUDIO/status")
xdotool search --onlyvisible --name '^Chalkcast$' windowsize %@ 1000 760 >/dev/null 2>&1 || true
sleep 2
import -window root -crop 1000x760+0+0 "$OUT"
echo "saved $OUT"
# the card's preview must show the test pattern: somewhere in the picture
# a row crosses the seven colour bars in order (white, yellow, cyan,
# green, magenta, red, blue), each at least 12 pixels wide
convert "$OUT" -depth 8 rgb:"$WORK/shot.rgb"
python3 - "$WORK/shot.rgb" 1000 760 <<'PY'
import sys
data, w, h = open(sys.argv[1], "rb").read(), int(sys.argv[2]), int(sys.argv[3])
want = ["W", "Y", "C", "G", "M", "R", "B"]
def name(r, g, b):
    on = tuple(v > 140 for v in (r, g, b))
    off = tuple(v < 70 for v in (r, g, b))
    for n, lit in zip(want, [(1,1,1), (1,1,0), (0,1,1), (0,1,0), (1,0,1), (1,0,0), (0,0,1)]):
        if all(on[i] if lit[i] else off[i] for i in range(3)):
            return n
    return None
for y in range(h):
    row, runs, last, n = data[y*w*3:(y+1)*w*3], [], None, 0
    for x in range(w):
        c = name(*row[x*3:x*3+3])
        if c == last:
            n += 1
            continue
        if last and n >= 12:
            runs.append(last)
        last, n = c, 1
    if last and n >= 12:
        runs.append(last)
    s = "".join(runs)
    if "".join(want) in s:
        print(f"the card shows the colour bars (row {y})")
        sys.exit(0)
sys.exit("the screenshot shows no colour bars: the card's preview is missing")
PY
# minimized (ICCCM's WM_STATE says Iconic, as a window manager sets it):
# the previews stop decoding and the window stops repainting
WIN=$(xdotool search --onlyvisible --name '^Chalkcast$' | head -n 1)
xprop -id "$WIN" -f WM_STATE 32c -set WM_STATE 3
sleep 5
c0=$(cpu_of $STUDIO); sleep 20; c1=$(cpu_of $STUDIO)
minimized_ms=$(( (c1 - c0) * 10 ))
kill -TERM $STUDIO; wait $STUDIO 2>/dev/null || true

# the same stream, headless, for the same time
"$WORK/chalkcast" serve --data "$WORK/data2" --http "$HTTP" --rtmp "$RTMP" --rtsp 127.0.0.1:0 --rtsp-udp-port 0 --webrtc-udp 0 --webrtc-tcp 0 --log-level warn >"$WORK/serve.log" 2>&1 &
SERVE=$!
PIDS+=($SERVE)
until api GET server >/dev/null; do sleep 0.05; done
api POST streams '{"name":"maths","source":{"type":"testpattern"}}' >/dev/null
curl -sf "http://$HTTP/live/maths.flv" -o /dev/null --max-time 32 &
PIDS+=($!)
sleep 8
c0=$(cpu_of $SERVE); sleep 20; c1=$(cpu_of $SERVE)
serve_ms=$(( (c1 - c0) * 10 ))
kill -TERM $SERVE; wait $SERVE 2>/dev/null || true
echo "CPU over 20 s with one live 720p test-pattern stream and one viewer:"
echo "  studio (window open): ${studio_ms} ms = $(( studio_ms / 200 )) % of a core, RSS $(( rss / 1024 )) MiB"
echo "  headless:             ${serve_ms} ms = $(( serve_ms / 200 )) % of a core"
echo "  the window's own cost: $(( (studio_ms - serve_ms) / 200 )) % of a core"
echo "  studio, minimized:    ${minimized_ms} ms = $(( minimized_ms / 200 )) % of a core"
echo "  previews and painting (shown minus minimized): $(( (studio_ms - minimized_ms) / 200 )) % of a core"
