#!/usr/bin/env bash
# Installs what Chalkcast needs on Debian or Ubuntu: system packages from
# apt and, when no recent Go is on the machine, Go.
#   packaging/setup.sh run    what building and running the app needs
#   packaging/setup.sh        that, and the peers the tests talk to and
#                             the tools the packages are built with
# Safe to run again: it installs only what is missing. Prints the Go
# binary to use on its last line.
set -euo pipefail

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

# Build and run: git and a C/C++ toolchain (g++ for the bundled OpenH264
# H.264 encoder), the VisualOn AAC and libopus encoders (linked statically), FFmpeg's
# libavcodec and libswscale (the decoders behind the preview and the level
# meter), the X11 headers of the screen-capture driver, the GL/X11
# headers of the studio window (Fyne), and CJK fonts for the studio in
# Chinese.
PACKAGES=(ca-certificates git curl gcc g++ libc6-dev pkg-config libvo-aacenc-dev libopus-dev libavcodec-dev libswscale-dev
  libgl1-mesa-dev libx11-dev libxcursor-dev libxrandr-dev libxinerama-dev libxi-dev libxxf86vm-dev libxext-dev
  fonts-noto-cjk)
# Test peers: ffmpeg/ffprobe publish and play; headless Chromium with
# chromedriver plays the share page; Xvfb is the screen that screen
# capture and the window are tested on, with xdotool to find the window,
# xprop (x11-utils) to mark it minimized as a window manager does, xsetroot
# (x11-xserver-utils) to paint it for scene tests, and
# ImageMagick to photograph it; GStreamer's RTSP server (driven from
# Python) plays the IP cameras, with x264/x265, AAC and G.711 encoders;
# nginx with the RTMP module is the server streams are pushed to; Node.js
# and npm fetch the player scripts.
# Packaging: make and xz for the Linux package, mingw-w64 for the Windows
# build (with nasm for the FFmpeg it compiles, from Debian's source
# package checked with Debian's archive key), and Wine to start the
# Windows executable in CI.
if [ "${1:-all}" != run ]; then
  PACKAGES+=(ffmpeg chromium chromium-driver xvfb xauth xdotool x11-utils x11-xserver-utils imagemagick
    python3-gi gir1.2-gst-rtsp-server-1.0 gstreamer1.0-plugins-base gstreamer1.0-plugins-good
    gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
    nginx libnginx-mod-rtmp make xz-utils gcc-mingw-w64-x86-64 g++-mingw-w64-x86-64 binutils-mingw-w64-x86-64
    nasm debian-archive-keyring wine64)
fi

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
# A machine may have Node.js from elsewhere (with npm inside): only ask
# apt for it when there is no npm at all.
if [ "${1:-all}" != run ]; then
  command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
fi
updated=0
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  $SUDO apt-get update -qq
  updated=1
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# Go 1.24 or newer. A Go of at least 1.21 fetches the exact toolchain that
# go.mod asks for by itself (GOTOOLCHAIN=auto); Debian 12 ships 1.19, its
# backports 1.23.
go_ok() {
  command -v "$1" >/dev/null 2>&1 || return 1
  local v
  v=$("$1" env GOVERSION 2>/dev/null | sed 's/^go//') || return 1
  local major minor
  major=${v%%.*}; minor=${v#*.}; minor=${minor%%.*}
  [ "$major" -gt 1 ] || [ "$minor" -ge 21 ]
}
GO=go
if ! go_ok go; then
  if [ -x /usr/local/go/bin/go ] && go_ok /usr/local/go/bin/go; then
    GO=/usr/local/go/bin/go
  else
    if ! apt-cache show golang-1.23-go >/dev/null 2>&1; then
      . /etc/os-release
      if [ "${ID:-}" = debian ]; then
        echo "deb http://deb.debian.org/debian ${VERSION_CODENAME}-backports main" | $SUDO tee /etc/apt/sources.list.d/chalkcast-backports.list >/dev/null
      fi
      $SUDO apt-get update -qq
    elif [ $updated -eq 0 ]; then
      $SUDO apt-get update -qq
    fi
    $SUDO apt-get install -y -qq --no-install-recommends golang-1.23-go >/dev/null
    GO=/usr/lib/go-1.23/bin/go
  fi
fi
echo "$GO"
