#!/usr/bin/env bash
# Builds Chalkcast's packages into dist/ and checks them:
#   dist/Chalkcast-<version>-linux-amd64.tar.xz  binary, .desktop entry and
#       icon (fyne package), with a Makefile: "sudo make install", or
#       "make user-install" into ~/.local
#   dist/chalkcast-<version>-windows-amd64.exe  cross-built with Debian's
#       mingw-w64, with the icon and version information (the C libraries
#       Debian has no mingw build of are compiled from source once and kept
#       in ~/.cache/chalkcast; JOBS=N sets FFmpeg's parallel jobs)
# The Linux package is installed into a scratch prefix and its binary
# started (--version); the Windows file must be a PE executable that needs
# no DLL Windows lacks, and serve a stream under Wine (packaging/wine.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-$(packaging/setup.sh | tail -n 1)}
export GOTOOLCHAIN=auto
VERSION=$(sed -n 's/^ *Version *= *"\(.*\)"/\1/p' FyneApp.toml)
WORK=$(mktemp -d)
if [ -e rsrc_windows_amd64.syso ]; then
  echo "rsrc_windows_amd64.syso is left from an interrupted build: remove it" >&2
  exit 1
fi
trap 'rm -rf "$WORK" rsrc_windows_amd64.syso' EXIT
mkdir -p dist

# The packaging tool, built for this machine.
GOBIN="$WORK/bin" GOOS= GOARCH= "$GO" install fyne.io/tools/cmd/fyne@v1.7.4

# Linux: build, then package the binary.
start=$(date +%s)
"$GO" build -ldflags "-s -w -X main.version=$VERSION" -o "$WORK/chalkcast" .
(cd "$WORK" && "$WORK/bin/fyne" package --os linux --release --exe "$WORK/chalkcast" --src "$OLDPWD")
mv "$WORK/Chalkcast.tar.xz" "dist/Chalkcast-$VERSION-linux-amd64.tar.xz"
echo "linux: dist/Chalkcast-$VERSION-linux-amd64.tar.xz, $(du -k "dist/Chalkcast-$VERSION-linux-amd64.tar.xz" | cut -f1) KiB, $(($(date +%s) - start)) s"
mkdir "$WORK/unpack" "$WORK/prefix"
tar -xJf "dist/Chalkcast-$VERSION-linux-amd64.tar.xz" -C "$WORK/unpack"
make -s -C "$WORK/unpack/chalkcast" install DESTDIR="$WORK/prefix" PREFIX=/usr
test -s "$WORK/prefix/usr/share/applications/app.chalkcast.studio.desktop"
test -s "$WORK/prefix/usr/share/pixmaps/app.chalkcast.studio.png"
got=$("$WORK/prefix/usr/bin/chalkcast" --version 2>"$WORK/version.err") || true
[ "$got" = "chalkcast $VERSION" ] || { echo "installed binary says \"$got\", want \"chalkcast $VERSION\"" >&2; cat "$WORK/version.err" >&2; exit 1; }

# Windows: the AAC encoder is Debian's libvo-aacenc on Linux; for Windows
# the same VisualOn sources (shipped in the aac-go module) are compiled
# with mingw-w64.
# The library's folder is named after its version and kept: it is in
# CGO_CFLAGS, which is part of every cgo package's key in Go's build cache,
# and a new folder each time rebuilt all of them (GLFW, OpenGL, OpenH264:
# about 5 minutes).
start=$(date +%s)
aacmod=github.com/gen2brain/aac-go@v0.0.0-20230119102159-ef1e76509d21
aacdir="${XDG_CACHE_HOME:-$HOME/.cache}/chalkcast/vo-aacenc-mingw-${aacmod##*-}"
if [ ! -s "$aacdir/lib/libvo-aacenc.a" ]; then
  aac=$("$GO" mod download -json "$aacmod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/aacenc/external/aacenc
  mkdir -p "$WORK/aac/include/vo-aacenc" "$WORK/aac/lib" "$WORK/aac/obj" "$(dirname "$aacdir")"
  cp "$aac"/include/*.h "$aac/src/cmnMemory.h" "$WORK/aac/include/vo-aacenc/"
  for c in "$aac"/src/*.c; do
    x86_64-w64-mingw32-gcc -O2 -c -I"$aac/include" -I"$aac/src" "$c" -o "$WORK/aac/obj/$(basename "$c" .c).o"
  done
  x86_64-w64-mingw32-ar rcs "$WORK/aac/lib/libvo-aacenc.a" "$WORK/aac/obj/"*.o
  rm -rf "$WORK/aac/obj" "$aacdir"
  # whole or not at all, even with another build doing the same
  tmp=$(mktemp -d "$aacdir.XXXXXX")
  mv "$WORK/aac/include" "$WORK/aac/lib" "$tmp/"
  mv -T "$tmp" "$aacdir" 2>/dev/null || rm -rf "$tmp"
fi
# libopus (the Opus of WebRTC's sound) is Debian's on Linux; for Windows,
# the same release (1.3.1) that the mediadevices module ships built for
# mingw-w64, with its headers, in a kept, versioned folder.
opusmod=github.com/pion/mediadevices@v0.9.4
opusdir="${XDG_CACHE_HOME:-$HOME/.cache}/chalkcast/opus-mingw-1.3.1"
if [ ! -s "$opusdir/lib/libopus.a" ]; then
  opus=$("$GO" mod download -json "$opusmod" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')/pkg/codec/opus
  tmp=$(mktemp -d "$opusdir.XXXXXX")
  mkdir -p "$tmp/include/opus" "$tmp/lib"
  cp "$opus"/include/*.h "$tmp/include/opus/"
  cp "$opus/lib/libopus-windows-x64.a" "$tmp/lib/libopus.a"
  chmod -R u+w "$tmp"
  rm -rf "$opusdir"
  mv -T "$tmp" "$opusdir" 2>/dev/null || rm -rf "$tmp"
fi
# FFmpeg's decoders (media/decode: the preview and the level meter) are
# Debian's libavcodec on Linux; for Windows the same FFmpeg release is
# cross-compiled, static and with only those decoders, once into a kept,
# versioned folder (packaging/ffmpeg-mingw.sh).
ffdir=$(packaging/ffmpeg-mingw.sh | tail -n 1)
# icon and version information as a resource the Go linker picks up
convert assets/icon.png -define icon:auto-resize=256,64,48,32,16 "$WORK/chalkcast.ico"
IFS=. read -r major minor patch <<<"${VERSION%%[-+]*}" # 0.2.0-rc1: 0,2,0
cat >"$WORK/chalkcast.rc" <<RC
1 ICON "$WORK/chalkcast.ico"
1 VERSIONINFO
FILEVERSION $major,$minor,${patch:-0},0
PRODUCTVERSION $major,$minor,${patch:-0},0
BEGIN
  BLOCK "StringFileInfo"
  BEGIN
    BLOCK "040904B0"
    BEGIN
      VALUE "CompanyName", "Chalkcast"
      VALUE "FileDescription", "Chalkcast classroom live streaming"
      VALUE "FileVersion", "$VERSION"
      VALUE "InternalName", "chalkcast"
      VALUE "OriginalFilename", "chalkcast.exe"
      VALUE "ProductName", "Chalkcast"
      VALUE "ProductVersion", "$VERSION"
    END
  END
  BLOCK "VarFileInfo"
  BEGIN
    VALUE "Translation", 0x409, 1200
  END
END
RC
x86_64-w64-mingw32-windres -O coff -o rsrc_windows_amd64.syso "$WORK/chalkcast.rc"
exe="dist/chalkcast-$VERSION-windows-amd64.exe"
# -extldflags=-static links MinGW's GCC and C++ runtimes (OpenH264 is C++)
# into the program: Windows has no libgcc_s_seh-1.dll or libstdc++-6.dll,
# and without them the program does not start at all.
# cgo asks pkg-config for media/decode's flags: PKG_CONFIG_LIBDIR makes it
# read the Windows FFmpeg's .pc files only, never this machine's Linux
# ones. An FFmpeg built without shared libraries writes its system
# libraries (-lbcrypt -lole32 -luser32 -lm -latomic) and libswresample
# into Libs and Requires, not the .private fields, so plain --libs (all
# cgo asks for) is already the static link line. Go's build cache does not
# see pkg-config's answer (golang/go#24544): the folder is in CGO_CFLAGS
# too, so that a new FFmpeg version or configuration rebuilds.
CGO_ENABLED=1 GOOS=windows GOARCH=amd64 CC=x86_64-w64-mingw32-gcc CXX=x86_64-w64-mingw32-g++ \
  CGO_CFLAGS="-I$aacdir/include -I$opusdir/include -I$ffdir/include" CGO_LDFLAGS="-L$aacdir/lib -L$opusdir/lib" \
  PKG_CONFIG_LIBDIR="$ffdir/lib/pkgconfig" PKG_CONFIG_PATH= \
  "$GO" build -ldflags "-s -w -H windowsgui -X main.version=$VERSION -extldflags=-static" -o "$exe" .
rm -f rsrc_windows_amd64.syso
# a PE file: "MZ", and "PE\0\0" where the DOS header points
[ "$(head -c 2 "$exe")" = "MZ" ] || { echo "$exe is not a Windows executable" >&2; exit 1; }
pe=$(od -An -tu4 -j60 -N4 "$exe" | tr -d ' ')
[ "$(od -An -c -j"$pe" -N4 "$exe" | tr -d ' ')" = 'PE\0\0' ] || { echo "$exe has no PE header" >&2; exit 1; }
# only DLLs that come with Windows (MinGW's are called lib*.dll)
if x86_64-w64-mingw32-objdump -p "$exe" | grep -i 'DLL Name: lib'; then
  echo "$exe needs the MinGW DLLs above, which Windows does not have: link them statically" >&2
  exit 1
fi
echo "windows: $exe, $(du -k "$exe" | cut -f1) KiB, $(($(date +%s) - start)) s"
# and it must start and serve (under Wine)
packaging/wine.sh "$exe"
