#!/usr/bin/env bash
# Builds debian-12.qcow2, a Debian 12 (bookworm) cloud image, from Debian's packages with
# debootstrap (as root; kit/build-kit.sh runs it and caches the result):
#
#   debian-12.sh --packages            prints the packages the image is made of
#   debian-12.sh OUT.qcow2 WORKDIR     builds the image
#
# minbase + the kernel, cloud-init (datasources ConfigDrive, OpenStack, None; the default user
# stays Debian's `debian`), OpenSSH, ifupdown + isc-dhcp-client (what cloud-init writes network
# configuration for on Debian), no recommends, no documentation. A GPT disk with one ext4 root
# (kit/disk-image.sh); /boot/grub/grub.cfg names /boot/vmlinuz-<ver> and /boot/initrd.img-<ver>.
# The initramfs holds the virtio-mmio drivers and ext4: the guests run on QEMU's microvm.
# Packages come from the Debian mirrors this host's apt uses.
set -euo pipefail

packages=(linux-image-amd64 systemd-sysv udev dbus libpam-systemd cloud-init openssh-server ifupdown
          isc-dhcp-client iproute2 sudo netbase e2fsprogs cloud-guest-utils fdisk zstd)
# In the initramfs: microvm's devices are virtio-mmio (ACPI), the root is ext4 on virtio-blk.
initramfs_modules=(virtio_mmio virtio_pci virtio_blk virtio_net crc32c_generic ext4)

if [ "${1:-}" = --packages ]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi
[ $# -eq 2 ] || { echo "usage: debian-12.sh --packages | OUT.qcow2 WORKDIR" >&2; exit 2; }
[ "$(id -u)" -eq 0 ] || { echo "debian-12.sh: debootstrap and chroot need root" >&2; exit 1; }

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$here/disk-image.sh"
out=$1 work=$(realpath -m "$2")
root="$work/root"
log() { echo "kit: debian-12: $*" >&2; }
die() { echo "kit: debian-12: error: $*" >&2; exit 1; }

# The host's own Debian sources, read through apt: "500 URL SUITE/main amd64 Packages".
mirror_of() { apt-cache policy | awk -v s="$1/main" '$3 == s && $4 == "amd64" { print $2; exit }'; }
mirror=$(mirror_of bookworm)
security=$(mirror_of bookworm-security)
updates=$(mirror_of bookworm-updates)
[ -n "$mirror" ] || die "apt on this host has no bookworm/main source to debootstrap from"

mounted() { awk -v r="$root" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; }
unmount_all() {
  local m
  # Deepest first.
  for m in $(awk -v r="$root" '$2 == r || index($2, r "/") == 1 { print $2 }' /proc/mounts | sort -r); do
    umount "$m" 2>/dev/null || umount -l "$m"
  done
}
trap unmount_all EXIT

in_root() { chroot "$root" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive "$@"; }

unmount_all
! mounted || die "$root still has mounts; not removing it"
rm -rf "$root"
mkdir -p "$root" "$work/debootstrap-cache"

log "debootstrap (minbase) from $mirror"
debootstrap --variant=minbase --arch=amd64 --components=main --cache-dir="$work/debootstrap-cache" \
  bookworm "$root" "$mirror" >&2 || die "debootstrap failed (see $root/debootstrap/debootstrap.log)"

mount -t proc proc "$root/proc"
mount -t sysfs sysfs "$root/sys"
mount --bind /dev "$root/dev"
mount --bind /dev/pts "$root/dev/pts"

# Nothing starts inside the chroot; no documentation, recommends or translations.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 0755 "$root/usr/sbin/policy-rc.d"
cat >"$root/etc/apt/apt.conf.d/90stratus" <<'EOF'
APT::Install-Recommends "false";
APT::Install-Suggests "false";
Acquire::Languages "none";
EOF
# For the build only: the configuration files written here stay as they are.
echo 'Dpkg::Options { "--force-confdef"; "--force-confold"; };' >"$root/etc/apt/apt.conf.d/99stratus-build"
cat >"$root/etc/dpkg/dpkg.cfg.d/90stratus-nodoc" <<'EOF'
path-exclude=/usr/share/doc/*
path-include=/usr/share/doc/*/copyright
path-exclude=/usr/share/man/*
path-exclude=/usr/share/info/*
path-exclude=/usr/share/lintian/*
path-exclude=/usr/share/locale/*
path-include=/usr/share/locale/locale.alias
EOF
rm -f "$root/etc/apt/sources.list"
{
  echo "Types: deb"
  echo "URIs: $mirror"
  echo "Suites: bookworm${updates:+ bookworm-updates}"
  echo "Components: main"
  echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  if [ -n "$security" ]; then
    echo
    echo "Types: deb"
    echo "URIs: $security"
    echo "Suites: bookworm-security"
    echo "Components: main"
    echo "Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg"
  fi
} >"$root/etc/apt/sources.list.d/debian.sources"

# The initramfs gets only what the root needs (MODULES=list): small and quick to unpack.
mkdir -p "$root/etc/initramfs-tools/conf.d"
echo "MODULES=list" >"$root/etc/initramfs-tools/conf.d/stratus.conf"
{
  echo "# Stratus: the guests' disk and NIC are virtio-mmio devices (QEMU microvm), the root is ext4."
  printf '%s\n' "${initramfs_modules[@]}"
} >"$root/etc/initramfs-tools/modules"

log "installing ${packages[*]}"
in_root apt-get update -qq >&2
in_root apt-get -y -qq dist-upgrade >&2
in_root apt-get -y -qq install "${packages[@]}" >&2 || die "apt-get install in the image failed"

kver=$(cd "$root/boot" && ls vmlinuz-* | sed 's/^vmlinuz-//' | sort -V | tail -n1)
[ -n "$kver" ] && [ -f "$root/boot/initrd.img-$kver" ] || die "no kernel or initramfs in $root/boot"
in_root lsinitramfs "/boot/initrd.img-$kver" >"$work/initramfs.list"
for m in "${initramfs_modules[@]}"; do
  grep -q "/$m\.ko" "$work/initramfs.list" || die "the initramfs lacks $m"
done

read -r fs_uuid </proc/sys/kernel/random/uuid
echo "UUID=$fs_uuid / ext4 rw,discard,errors=remount-ro 0 1" >"$root/etc/fstab"
echo localhost >"$root/etc/hostname"
printf '127.0.0.1\tlocalhost\n::1\t\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
printf 'source /etc/network/interfaces.d/*\n\nauto lo\niface lo inet loopback\n' >"$root/etc/network/interfaces"
# C.UTF-8 is built into glibc: cloud-init's locale module then has nothing to generate at boot.
echo "LANG=C.UTF-8" >"$root/etc/default/locale"
cat >"$root/etc/cloud/cloud.cfg.d/90-stratus.cfg" <<'EOF'
# Stratus: a config drive first, else the metadata service (its platform is recognised by
# "product_name=OpenStack Nova" in PID 1's environment: microvm has no DMI).
datasource_list: [ ConfigDrive, OpenStack, None ]
# Host keys that are quick to make under emulation (no RSA).
ssh_genkeytypes: [ ed25519, ecdsa ]
# The instance's name resolves (sudo asks for it).
manage_etc_hosts: true
# No GRUB in the image: the VMM boots the kernel that grub.cfg names.
grub_dpkg:
  enabled: false
EOF

# Units that only slow a boot under emulation (or need a console the guest does not have).
for unit in apt-daily.timer apt-daily-upgrade.timer e2scrub_all.timer e2scrub_reap.service fstrim.timer \
            getty@tty1.service; do
  in_root systemctl disable "$unit" >/dev/null 2>&1 || true
done

# Per-instance identity is made at first boot: machine id, ssh host keys (cloud-init).
rm -f "$root"/etc/ssh/ssh_host_*
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
rm -f "$root/usr/sbin/policy-rc.d" "$root/etc/apt/apt.conf.d/99stratus-build" "$root/etc/resolv.conf"
in_root apt-get clean
rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin "$root"/var/cache/debconf/*-old \
       "$root"/tmp/* "$root"/var/tmp/* "$root/debootstrap" "$root"/root/.bash_history
find "$root/var/log" -type f -exec truncate -s 0 {} +
unmount_all
! mounted || die "cannot unmount the chroot's file systems"
# ldconfig and the hwdb are current: systemd's first-boot update units have nothing to do.
touch -r "$root/usr" "$root/etc/.updated" "$root/var/.updated"

mkdir -p "$root/boot/grub"
write_grub_cfg "$root/boot/grub/grub.cfg" "Debian GNU/Linux" "$fs_uuid" "/boot/vmlinuz-$kver" \
  "/boot/initrd.img-$kver" "root=UUID=$fs_uuid ro console=ttyS0"
used=$(du -sm "$root" | cut -f1)
[ "$used" -lt 1600 ] || die "the root holds $used MiB: too much for a 2 GiB disk"
log "root filesystem: $used MiB used, kernel $kver"
make_disk "$root" 2048 "$fs_uuid" debian-root "$out" || die "cannot make $out"
rm -rf "$root"
