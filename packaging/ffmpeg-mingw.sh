#!/usr/bin/env bash
# Builds the FFmpeg libraries that media/decode binds, for the Windows
# build: libavcodec with only the H.264, H.265, AAC, Opus and G.711
# decoders, libswscale, and the libavutil and libswresample under them;
# static, LGPL, cross-compiled with mingw-w64 (and nasm for FFmpeg's x86
# assembly). The source is the one Debian builds this machine's
# libavcodec-dev from (its ffmpeg source package: the upstream release
# and Debian's patches), fetched from deb.debian.org with a private apt
# list that leaves the system's apt configuration alone.
# It is built once into a folder of ~/.cache/chalkcast named after that
# version and a hash of the configuration below, and kept; the folder is
# printed on the last line. packaging/build.sh runs it.
#   JOBS=N packaging/ffmpeg-mingw.sh   compile with N jobs (default: all cores)
set -euo pipefail
export LC_ALL=C

status=$(dpkg-query -W -f='${db:Status-Abbrev}|${source:Version}' libavcodec-dev 2>/dev/null) || true
version=${status#*|}
case $status in
ii*) ;;
*) echo "ffmpeg-mingw: libavcodec-dev is not installed (packaging/setup.sh installs it)" >&2; exit 1 ;;
esac
command -v nasm >/dev/null || { echo "ffmpeg-mingw: no nasm (packaging/setup.sh installs it)" >&2; exit 1; }
command -v x86_64-w64-mingw32-gcc >/dev/null || { echo "ffmpeg-mingw: no x86_64-w64-mingw32-gcc (packaging/setup.sh installs it)" >&2; exit 1; }

# --disable-everything leaves no decoder, parser, filter or protocol but
# the ones named; --disable-autodetect keeps out whatever else the machine
# has (zlib, iconv, Media Foundation, DXVA...), so the libraries need only
# DLLs every Windows has. The Opus decoder needs libswresample.
options=(--enable-cross-compile --target-os=mingw32 --arch=x86_64 --cross-prefix=x86_64-w64-mingw32-
  --enable-static --disable-shared --disable-programs --disable-doc --disable-debug
  --disable-everything --disable-autodetect --enable-w32threads
  --disable-avformat --disable-avdevice --disable-avfilter --disable-network --disable-postproc
  --enable-swscale --enable-swresample --enable-decoder=h264,hevc,aac,opus,pcm_alaw,pcm_mulaw)
hash=$(printf '%s\n' "${options[@]}" | sha256sum | cut -c1-8)
dir="${XDG_CACHE_HOME:-$HOME/.cache}/chalkcast/ffmpeg-mingw-${version#*:}-$hash"
if [ -s "$dir/lib/libavcodec.a" ] && [ -s "$dir/lib/pkgconfig/libavcodec.pc" ]; then
  echo "$dir"
  exit 0
fi

start=$(date +%s)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log="$work/log"
fail() {
  echo "ffmpeg-mingw: $*" >&2
  tail -n 30 "$log" >&2
  exit 1
}
echo "ffmpeg-mingw: building FFmpeg $version for Windows into $dir (once; a few minutes)" >&2

# Debian's source package, from a sources list, package lists and cache
# of its own.
codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
mkdir -p "$work/apt/lists/partial" "$work/apt/cache/archives/partial" "$work/dl" "$work/src" "$work/build"
key=/usr/share/keyrings/debian-archive-keyring.gpg
cat >"$work/apt/sources.list" <<LIST
deb-src [signed-by=$key] http://deb.debian.org/debian $codename main
deb-src [signed-by=$key] http://deb.debian.org/debian-security $codename-security main
LIST
apt=(apt-get -q -o Dir::Etc::sourcelist="$work/apt/sources.list" -o Dir::Etc::sourceparts=-
  -o Dir::State::Lists="$work/apt/lists" -o Dir::Cache="$work/apt/cache" -o APT::Sandbox::User="$(id -un)")
"${apt[@]}" update >>"$log" 2>&1 || fail "apt-get update of Debian's $codename sources failed"
(cd "$work/dl" && "${apt[@]}" source --download-only "ffmpeg=$version") >>"$log" 2>&1 ||
  fail "Debian's source of ffmpeg $version (the version of libavcodec-dev) could not be fetched"
# what dpkg-source -x does: the upstream tarball, then debian/ and the
# patches of debian/patches/series on top
upstream=${version#*:}
upstream=${upstream%-*}
tar -xf "$work/dl/ffmpeg_$upstream.orig.tar.xz" -C "$work/src" --strip-components=1 || fail "unpacking ffmpeg_$upstream.orig.tar.xz"
tar -xf "$work/dl/ffmpeg_${version#*:}.debian.tar.xz" -C "$work/src" || fail "unpacking ffmpeg_${version#*:}.debian.tar.xz"
if [ -s "$work/src/debian/patches/series" ]; then
  while read -r patch level; do
    case $patch in '' | '#'*) continue ;; esac
    # (git apply is patch(1) here: the ceiling keeps it from taking a
    # repository around $work for its own)
    (cd "$work/src" && GIT_CEILING_DIRECTORIES="$work" git apply "${level:--p1}" "debian/patches/$patch") >>"$log" 2>&1 ||
      fail "applying Debian's $patch"
  done <"$work/src/debian/patches/series"
fi

# --prefix is the final folder (the .pc files name it); the libraries are
# installed beside it and moved there whole.
(cd "$work/build" && "$work/src/configure" --prefix="$dir" "${options[@]}") >>"$log" 2>&1 || fail "configure failed"
make -C "$work/build" -j"${JOBS:-$(nproc)}" >>"$log" 2>&1 || fail "make failed"
make -C "$work/build" install-libs install-headers DESTDIR="$work/destdir" >>"$log" 2>&1 || fail "make install failed"
mkdir -p "$(dirname "$dir")"
rm -rf "$dir"
# whole or not at all, even with another build doing the same
tmp=$(mktemp -d "$dir.XXXXXX")
mv "$work/destdir$dir"/* "$tmp/"
mv -T "$tmp" "$dir" 2>/dev/null || rm -rf "$tmp"
echo "ffmpeg-mingw: FFmpeg $version for Windows built in $(($(date +%s) - start)) s ($(du -sk "$dir" | cut -f1) KiB)" >&2
echo "$dir"
