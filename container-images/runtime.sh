#!/usr/bin/env bash
# The root file system under every Stratus image, made without a container engine: a Java runtime
# linked by jlink from the JDK that builds the project, and the host libraries it loads (glibc,
# zlib, libstdc++...). The desktop parts of the runtime (AWT, fonts, sound) are never loaded by
# the services, so their libraries are not included.
set -euo pipefail
out=$1
rm -rf "$out"
mkdir -p "$out/opt" "$out/tmp" "$out/etc"
jlink --add-modules ALL-MODULE-PATH --strip-debug --no-man-pages --no-header-files --compress=2 \
  --output "$out/opt/java" 2>/dev/null
libs() {
  echo "$out/opt/java/bin/java"
  find "$out/opt/java/lib" -name '*.so' | grep -Ev '/lib(awt|fontmanager|jsound|splashscreen|lcms|javajpeg|mlib_image|j2pcsc|jawt)[^/]*\.so$'
}
libs | while read -r so; do
  ldd "$so" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u | while read -r lib; do
  case "$lib" in "$out"/*) continue ;; esac
  mkdir -p "$out$(dirname "$lib")"
  cp -L "$lib" "$out$lib"
done
printf 'root:x:0:0:root:/root:/sbin/nologin\nstratus:x:1000:1000:stratus:/tmp:/sbin/nologin\n' >"$out/etc/passwd"
printf 'root:x:0:\nstratus:x:1000:\n' >"$out/etc/group"
printf '127.0.0.1 localhost\n::1 localhost\n' >"$out/etc/hosts"
printf 'hosts: files dns\n' >"$out/etc/nsswitch.conf"
