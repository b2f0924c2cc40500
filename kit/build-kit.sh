#!/usr/bin/env bash
# Builds the Stratus guest kit from Debian packages into a cache directory and
# prints that directory on stdout (progress goes to stderr):
#
#   test-kernel/vmlinux    Linux from Debian's linux-source-6.1, microVM config
#                          (kit/test-kernel.config) + kit/patches/*.patch
#   test-kernel/bzImage    the same kernel as a bzImage (LZ4)
#   stock/bzImage          Debian's linux-image-amd64 kernel, as shipped
#   stock/vmlinux          the same kernel's ELF image (PVH entry), unpacked
#   initramfs.cpio         busybox initramfs for the test kernel (no modules)
#   initramfs-stock.cpio   the same with the stock kernel's virtio/ext4 modules
#   disk.img               a small ext4 disk holding hello.txt
#   cloud-small.qcow2      a whole-disk cloud image (GPT, ext4 root): the test
#                          kernel, a busybox initrd, busybox + dropbear, and
#                          kit/cloud-init.sh as init (config drive or metadata
#                          service, keys, user data, ssh); kit/cloud-small.sh
#   debian-12.qcow2        a Debian 12 cloud image made with debootstrap (root):
#                          Debian's kernel, cloud-init, OpenSSH; kit/debian-12.sh
#
# Every part is rebuilt only when its inputs change (a stamp file per part).
# Nothing is downloaded except Debian packages through apt (and debootstrap,
# from the Debian mirror this host's apt uses).
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
kit=${STRATUS_KIT_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/stratus/kit}
jobs=$(nproc)

usage() {
  cat >&2 <<EOF
usage: stratus kit [--kit-dir DIR] [--jobs N]
Builds the guest kit (test kernel, Debian stock kernel, busybox initramfs,
ext4 disk, the cloud images cloud-small.qcow2 and debian-12.qcow2) from Debian
packages into DIR (default: $kit) and prints DIR.
EOF
}

while [ $# -gt 0 ]; do
  case "$1" in
    --kit-dir) kit=${2:?--kit-dir needs a directory}; shift 2 ;;
    --jobs) jobs=${2:?--jobs needs a number}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "stratus kit: unknown argument '$1'" >&2; usage; exit 2 ;;
  esac
done

log() { echo "kit: $*" >&2; }
die() { echo "kit: error: $*" >&2; exit 1; }

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"; elif command -v sudo >/dev/null; then sudo "$@"; else
    die "need root to run: $* (run as root or install sudo)"; fi
}

# Host tools the build needs, all from Debian.
need_pkgs=()
for pair in gcc:build-essential make:build-essential bc:bc bison:bison flex:flex \
            xz:xz-utils lz4:lz4 mkfs.ext4:e2fsprogs perl:perl sfdisk:fdisk qemu-img:qemu-utils \
            debootstrap:debootstrap; do
  command -v "${pair%%:*}" >/dev/null || need_pkgs+=("${pair#*:}")
done
[ -e /usr/include/libelf.h ] || need_pkgs+=(libelf-dev)
[ -e /usr/include/openssl/ssl.h ] || need_pkgs+=(libssl-dev)
if [ ${#need_pkgs[@]} -gt 0 ]; then
  log "installing build tools: ${need_pkgs[*]}"
  as_root apt-get update -qq >&2
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${need_pkgs[@]}" >&2
fi

mkdir -p "$kit" "$kit/.work/debs"
exec 9>"$kit/.lock"
flock 9 || die "cannot lock $kit/.lock"
work="$kit/.work"

# apt-get download <package> into $work/debs once; prints the .deb path.
fetch_deb() {
  local pkg=$1 ver deb
  ver=$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2}')
  if [ -z "$ver" ] || [ "$ver" = "(none)" ]; then
    as_root apt-get update -qq >&2
    ver=$(apt-cache policy "$pkg" | awk '/Candidate:/{print $2}')
  fi
  [ -n "$ver" ] && [ "$ver" != "(none)" ] || die "Debian package $pkg is not available from apt"
  # One directory per package version: apt-get download encodes epochs in file names.
  local dir="$work/debs/$pkg/${ver//:/_}"
  deb=$(ls "$dir"/*.deb 2>/dev/null | head -n1 || true)
  if [ -z "$deb" ]; then
    log "downloading $pkg $ver"
    mkdir -p "$dir"
    (cd "$dir" && apt-get download -o APT::Sandbox::User=root -qq "$pkg=$ver" >&2) \
      || die "apt-get download $pkg failed"
    deb=$(ls "$dir"/*.deb | head -n1)
  fi
  echo "$deb"
}

stamp_of() { cat "$@" | sha256sum | cut -c1-16; }
fresh() { [ -f "$1" ] && [ "$(cat "$1")" = "$2" ]; }

# ---------------------------------------------------------------- test kernel
src_deb=$(fetch_deb linux-source-6.1)
kstamp=$( (basename "$src_deb"; cat "$here/test-kernel.config" "$here"/patches/*.patch) | sha256sum | cut -c1-16)
if fresh "$kit/test-kernel/stamp" "$kstamp"; then
  log "test kernel is up to date"
else
  src="$work/linux-source"
  # A tree unpacked from the same package with the same patches is kept: a
  # change of the configuration alone then rebuilds only what it touches.
  tree_stamp=$( (basename "$src_deb"; cat "$here"/patches/*.patch) | sha256sum | cut -c1-16)
  if fresh "$src/.stratus-tree" "$tree_stamp"; then
    log "reusing the unpacked $(basename "$src_deb")"
  else
    rm -rf "$src" "$work/linux-deb"
    log "unpacking $(basename "$src_deb")"
    dpkg-deb -x "$src_deb" "$work/linux-deb"
    mkdir -p "$src"
    tar -xf "$work"/linux-deb/usr/src/linux-source-6.1.tar.xz -C "$src" --strip-components=1
    rm -rf "$work/linux-deb"
    for p in "$here"/patches/*.patch; do
      if patch -d "$src" -p1 -R --dry-run -s -f <"$p" >/dev/null 2>&1; then
        log "patch $(basename "$p") already applied"
      else
        log "applying $(basename "$p")"
        patch -d "$src" -p1 -N -s <"$p" >&2 || die "patch $(basename "$p") does not apply to $(basename "$src_deb")"
      fi
    done
    echo "$tree_stamp" >"$src/.stratus-tree"
  fi
  log "configuring (tinyconfig + kit/test-kernel.config)"
  make -C "$src" -s tinyconfig >&2
  (cd "$src" && scripts/kconfig/merge_config.sh -m .config "$here/test-kernel.config" >/dev/null)
  make -C "$src" -s olddefconfig >&2
  # merge_config only warns; a requested option that olddefconfig dropped
  # means the kernel would silently lack a device or a speed-up.
  missing=()
  while IFS= read -r line; do
    case "$line" in
      CONFIG_*=*) grep -qxF -- "$line" "$src/.config" || missing+=("$line") ;;
      "# CONFIG_"*" is not set")
        opt=${line#\# }; opt=${opt%% *}
        if grep -q "^$opt=" "$src/.config"; then missing+=("$line"); fi ;;
    esac
  done <"$here/test-kernel.config"
  [ ${#missing[@]} -eq 0 ] || die "kernel config lost requested lines: ${missing[*]}"
  log "building vmlinux and bzImage with $jobs jobs (about 5-10 minutes on 2 cores, once)"
  t0=$SECONDS
  make -C "$src" -s -j"$jobs" KBUILD_BUILD_USER=stratus KBUILD_BUILD_HOST=kit vmlinux bzImage >&2
  mkdir -p "$kit/test-kernel"
  cp "$src/arch/x86/boot/bzImage" "$kit/test-kernel/bzImage"
  cp "$src/vmlinux" "$kit/test-kernel/vmlinux.new"
  cp "$src/.config" "$kit/test-kernel/config"
  cp "$src/System.map" "$kit/test-kernel/System.map"
  mv "$kit/test-kernel/vmlinux.new" "$kit/test-kernel/vmlinux"
  echo "$kstamp" >"$kit/test-kernel/stamp"
  log "test kernel: $kit/test-kernel/{vmlinux,bzImage} ($((SECONDS - t0)) s)"
fi

# gen_init_cpio builds an initramfs from a list (device nodes included)
# without root; it comes with the kernel source.
gen_cpio="$work/gen_init_cpio"
if [ ! -x "$gen_cpio" ]; then
  if [ -f "$work/linux-source/usr/gen_init_cpio.c" ]; then
    gcc -O2 -o "$gen_cpio" "$work/linux-source/usr/gen_init_cpio.c"
  else
    tmp=$(mktemp -d)
    tar -xf <(dpkg-deb --fsys-tarfile "$src_deb") -C "$tmp" ./usr/src/linux-source-6.1.tar.xz
    tar -xf "$tmp/usr/src/linux-source-6.1.tar.xz" -C "$tmp" --wildcards '*/usr/gen_init_cpio.c'
    gcc -O2 -o "$gen_cpio" "$tmp"/linux-source-6.1/usr/gen_init_cpio.c
    rm -rf "$tmp"
  fi
fi

# ---------------------------------------------------------------- stock kernel
image_pkg=$(apt-cache depends linux-image-amd64 | awk '/Depends: linux-image-[0-9]/{print $2; exit}')
[ -n "$image_pkg" ] || die "cannot resolve the package behind linux-image-amd64"
image_deb=$(fetch_deb "$image_pkg")
sstamp=$(basename "$image_deb")
if fresh "$kit/stock/stamp" "$sstamp"; then
  log "stock kernel is up to date"
else
  rm -rf "$work/stock-deb"
  dpkg-deb -x "$image_deb" "$work/stock-deb"
  kver=${image_pkg#linux-image-}
  mkdir -p "$kit/stock/modules"
  cp "$work/stock-deb/boot/vmlinuz-$kver" "$kit/stock/bzImage"
  # The bzImage payload is xz; its ELF vmlinux carries the PVH note.
  off=$(LC_ALL=C grep -m1 -obUaP '\xfd7zXZ\x00' "$kit/stock/bzImage" | cut -d: -f1 || true)
  [ -n "$off" ] || die "no xz payload in $kit/stock/bzImage"
  tail -c +$((off + 1)) "$kit/stock/bzImage" | xz -dc --single-stream >"$kit/stock/vmlinux" 2>/dev/null \
    || [ -s "$kit/stock/vmlinux" ] || die "cannot unpack the stock vmlinux"
  head -c 4 "$kit/stock/vmlinux" | grep -q ELF || die "unpacked stock vmlinux is not ELF"
  # Load order that works (guest-kernel.md); a number prefix keeps it in glob order.
  rm -f "$kit/stock/modules/"*.ko
  n=10
  for m in virtio_ring virtio virtio_mmio virtio_blk failover net_failover virtio_net \
           virtio_balloon virtio_rng crc16 mbcache jbd2 crc32c_generic ext4; do
    ko=$(find "$work/stock-deb/lib/modules/$kver" -name "$m.ko" | head -n1)
    if [ -n "$ko" ]; then cp "$ko" "$kit/stock/modules/$n-$m.ko"; n=$((n + 1)); fi
  done
  echo "$kver" >"$kit/stock/version"
  rm -rf "$work/stock-deb"
  echo "$sstamp" >"$kit/stock/stamp"
  log "stock kernel $kver: $kit/stock/{bzImage,vmlinux}"
fi

# ---------------------------------------------------------------- initramfs
bb_deb=$(fetch_deb busybox-static)
istamp=$( (basename "$bb_deb"; cat "$here/init.sh" "$here/udhcpc.script"; cat "$kit/stock/stamp") | sha256sum | cut -c1-16)
if fresh "$kit/initramfs.stamp" "$istamp"; then
  log "initramfs is up to date"
else
  rm -rf "$work/busybox"
  dpkg-deb -x "$bb_deb" "$work/busybox"
  bb="$work/busybox/bin/busybox"
  make_list() {
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "nod /dev/null 0666 0 0 c 1 3"
    for d in /bin /sbin /proc /sys /mnt /tmp /root /etc /lib /lib/modules; do echo "dir $d 0755 0 0"; done
    echo "file /bin/busybox $bb 0755 0 0"
    echo "file /init $here/init.sh 0755 0 0"
    echo "file /etc/udhcpc.script $here/udhcpc.script 0755 0 0"
    # Applets as links made here: no `busybox --install` at boot, where each
    # fork+exec is expensive on an emulating host.
    "$bb" --list | while read -r applet; do
      [ "$applet" = busybox ] || echo "slink /bin/$applet /bin/busybox 0777 0 0"
    done
  }
  make_list >"$work/initramfs.list"
  "$gen_cpio" "$work/initramfs.list" >"$kit/initramfs.cpio.new"
  { make_list; for ko in "$kit"/stock/modules/*.ko; do
      echo "file /lib/modules/$(basename "$ko") $ko 0644 0 0"; done; } >"$work/initramfs-stock.list"
  "$gen_cpio" "$work/initramfs-stock.list" >"$kit/initramfs-stock.cpio.new"
  mv "$kit/initramfs.cpio.new" "$kit/initramfs.cpio"
  mv "$kit/initramfs-stock.cpio.new" "$kit/initramfs-stock.cpio"
  echo "$istamp" >"$kit/initramfs.stamp"
  log "initramfs: $kit/initramfs.cpio, $kit/initramfs-stock.cpio"
fi

# ---------------------------------------------------------------- disk
if [ ! -f "$kit/disk.img" ]; then
  rm -rf "$work/disk"
  mkdir -p "$work/disk"
  echo "hello from the stratus kit disk" >"$work/disk/hello.txt"
  mkfs.ext4 -q -F -L stratus-kit -d "$work/disk" "$kit/disk.img.new" 32M >&2
  mv "$kit/disk.img.new" "$kit/disk.img"
  log "disk: $kit/disk.img"
fi

# ---------------------------------------------------------------- cloud images
. "$here/cloud-small.sh"

mapfile -t debian_pkgs < <(bash "$here/debian-12.sh" --packages)
# "<package> <candidate version>" lines, from one apt-cache call (each costs most of a second).
debian_versions=$(apt-cache policy "${debian_pkgs[@]}" | awk '/^[^ ]/ { p = $1; sub(/:$/, "", p) } /Candidate:/ { print p, $2 }')
dstamp=$( (echo "$debian_versions"; cat "$here/debian-12.sh" "$here/disk-image.sh") | sha256sum | cut -c1-16)
if fresh "$kit/debian-12.stamp" "$dstamp" && [ -f "$kit/debian-12.qcow2" ]; then
  log "debian-12.qcow2 is up to date"
else
  log "building debian-12.qcow2 (debootstrap; about 5-10 minutes, once)"
  t0=$SECONDS
  rm -f "$kit/debian-12.stamp"
  as_root bash "$here/debian-12.sh" "$kit/debian-12.qcow2" "$work/debian-12" || die "debian-12.qcow2 failed"
  echo "$dstamp" >"$kit/debian-12.stamp"
  log "debian-12.qcow2: $kit/debian-12.qcow2 ($((SECONDS - t0)) s)"
fi

cat >"$kit/MANIFEST" <<EOF
test-kernel  $(basename "$src_deb")  stamp $(cat "$kit/test-kernel/stamp")
stock        $(basename "$image_deb")
busybox      $(basename "$bb_deb")
cloud-small  $(basename "$(fetch_deb dropbear-bin)")  stamp $(cat "$kit/cloud-small.stamp")
debian-12    $(echo "$debian_versions" | awk '$1 == "linux-image-amd64" || $1 == "cloud-init" { printf "%s %s  ", $1, $2 }')stamp $(cat "$kit/debian-12.stamp")
EOF
echo "$kit"
