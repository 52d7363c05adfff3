#!/usr/bin/env bash
# Starts the Windows executable under Wine and checks that it serves:
#   packaging/wine.sh dist/chalkcast-<version>-windows-amd64.exe
# "chalkcast.exe serve" on loopback ports of its choosing, with its data
# folder in a scratch directory; a test-pattern stream is created through
# the API and its HTTP-FLV read with ffprobe (H.264 video, and AAC audio
# when the stream reports it). Every wait has a deadline; Wine runs in a
# scratch prefix that is removed at the end. packaging/build.sh runs it
# after the Windows build.
set -euo pipefail
exe=${1:?usage: packaging/wine.sh chalkcast.exe}
[ -f "$exe" ] || { echo "wine: no file $exe" >&2; exit 1; }

# Debian's wine64 puts its loader outside the PATH.
WINE=$(command -v wine64 || echo /usr/lib/wine/wine64)
WINESERVER=$(command -v wineserver || echo /usr/lib/wine/wineserver)
[ -x "$WINE" ] && [ -x "$WINESERVER" ] || { echo "wine: no Wine (Debian's wine64 package: packaging/setup.sh installs it)" >&2; exit 1; }

scratch=$(mktemp -d)
# quiet unless asked (WINEDEBUG=err+all packaging/wine.sh ... tells why
# Wine refuses a program)
export WINEPREFIX="$scratch/prefix" WINEDEBUG=${WINEDEBUG:--all}
pid=""
fail() {
  echo "wine: $*" >&2
  if [ -s "$scratch/stderr" ]; then
    echo "--- chalkcast.exe's log:" >&2
    grep -v '^ALSA lib' "$scratch/stderr" | tail -n 30 >&2 # Wine's sound probing
  fi
  exit 1
}
cleanup() {
  if [ -n "$pid" ]; then kill "$pid" 2>/dev/null || true; fi
  "$WINESERVER" -k 2>/dev/null || true
  if [ -n "$pid" ]; then wait "$pid" 2>/dev/null || true; fi
  rm -rf "$scratch"
}
trap cleanup EXIT
since() { echo $(($(date +%s) - $1)); }

# A fresh prefix: wineboot creates it (tens of seconds on a slow machine).
start=$(date +%s)
timeout 180 "$WINE" wineboot --init >"$scratch/wineboot.log" 2>&1 || fail "wineboot did not finish within 180 s: $(tail -n 5 "$scratch/wineboot.log")"
boot=$(since "$start")

# Go's runtime needs ProcessPrng from bcryptprimitives.dll (in every
# Windows 10 and later), which Wine before 9.0 (Debian 12 has 8.0) lacks:
# a stand-in on top of Wine's bcrypt.dll goes into the prefix, never into
# the package.
sys32="$WINEPREFIX/drive_c/windows/system32"
if [ ! -e "$sys32/bcryptprimitives.dll" ]; then
  cat >"$scratch/prng.c" <<'C'
#include <windows.h>
#include <bcrypt.h>
__declspec(dllexport) BOOL WINAPI ProcessPrng(PBYTE data, SIZE_T len) {
	while (len > 0) {
		ULONG n = len > 0x40000000 ? 0x40000000 : (ULONG)len;
		if (BCryptGenRandom(NULL, data, n, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0)
			return FALSE;
		data += n;
		len -= n;
	}
	return TRUE;
}
C
  x86_64-w64-mingw32-gcc -shared -O2 -o "$sys32/bcryptprimitives.dll" "$scratch/prng.c" -lbcrypt
fi

# Port 0: the program picks free ports and logs the ones it listens on.
# No WebRTC here: Go sets SIO_UDP_NETRESET on every UDP socket, which Windows
# has and Debian's Wine 8 refuses (WSAEOPNOTSUPP), so no UDP socket opens under Wine.
mkdir "$scratch/data"
start=$(date +%s)
"$WINE" "$exe" serve -http 127.0.0.1:0 -rtmp 127.0.0.1:0 -rtsp "" -rtsp-udp-port 0 -webrtc-udp -1 \
  -data "Z:$scratch/data" >"$scratch/stdout" 2>"$scratch/stderr" &
pid=$!
http=""
deadline=$((start + 60))
while [ -z "$http" ]; do
  kill -0 "$pid" 2>/dev/null || { wait "$pid" && rc=0 || rc=$?; pid=""; fail "chalkcast.exe serve ended (status $rc$([ "$rc" = 53 ] && echo ': a DLL it needs is missing')) before listening (WINEDEBUG=err+all shows Wine's reasons)"; }
  [ "$(date +%s)" -lt "$deadline" ] || fail "chalkcast.exe serve did not listen within 60 s"
  http=$(sed -n 's/.*msg=listening http=\(127\.0\.0\.1:[0-9]*\).*/\1/p' "$scratch/stderr" | head -n 1)
  [ -n "$http" ] || sleep 0.2
done
up=$(since "$start")

code=$(curl -s -m 10 -o "$scratch/created" -w '%{http_code}' -X POST -H 'Content-Type: application/json' \
  -d '{"name":"wine","source":{"type":"testpattern"}}' "http://$http/api/v1/streams") || code="no answer"
[ "$code" = 201 ] || [ "$code" = 200 ] || fail "creating a test-pattern stream: HTTP $code $(head -c 300 "$scratch/created" 2>/dev/null)"

start=$(date +%s)
timeout 60 ffprobe -v error -rw_timeout 30000000 -show_entries stream=codec_type,codec_name -of csv=p=0 \
  "http://$http/live/wine.flv" >"$scratch/probe" 2>&1 || fail "ffprobe of http://$http/live/wine.flv: $(head -c 300 "$scratch/probe")"
probe=$(since "$start")
grep -qx 'h264,video' "$scratch/probe" || fail "no H.264 video in the stream's HTTP-FLV: $(tr '\n' ' ' <"$scratch/probe")"
curl -s -m 10 "http://$http/api/v1/streams/wine" >"$scratch/stream" || fail "reading the stream from the API"
if grep -A1 '"audio": {' "$scratch/stream" | grep -q '"codec": "aac"'; then
  grep -qx 'aac,audio' "$scratch/probe" || fail "the stream has AAC audio but its HTTP-FLV has none: $(tr '\n' ' ' <"$scratch/probe")"
fi
echo "wine: $(basename "$exe") serves H.264$(grep -qx 'aac,audio' "$scratch/probe" && echo ' and AAC') over HTTP-FLV (prefix ${boot} s, listening ${up} s, probe ${probe} s)"
