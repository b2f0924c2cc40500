# Helpers of the kit's whole-disk images (sourced by kit/cloud-small.sh and kit/debian-12.sh).
# Both images have the layout of a distribution's cloud image: a GPT with one ext4 root
# partition, the kernel and initrd under /boot, and a /boot/grub/grub.cfg in the form
# grub-mkconfig writes. No loop device or mount is needed: the filesystem is made from a
# directory (mkfs.ext4 -d) and written into the disk at the partition's offset.

# make_disk TREE SIZE_MIB FS_UUID LABEL OUT.qcow2
# The partition starts at 1 MiB and fills the disk up to the last MiB, which holds the
# backup GPT; the qcow2 is uncompressed, so that a guest reads it at full speed.
make_disk() {
  local tree=$1 size_mib=$2 fs_uuid=$3 label=$4 out=$5
  local fsimg="$out.ext4.tmp" raw="$out.raw.tmp"
  rm -f "$fsimg" "$raw" "$out.tmp"
  mkfs.ext4 -q -F -L "$label" -U "$fs_uuid" -d "$tree" "$fsimg" "${size_mib}M" >&2 \
    || { echo "mkfs.ext4 of $tree failed" >&2; return 1; }
  truncate -s $(((size_mib + 2) * 1024 * 1024)) "$raw"
  # Partition type: "Linux root (x86-64)" of the Discoverable Partitions Specification.
  printf 'label: gpt\nunit: sectors\nfirst-lba: 2048\nstart=2048, size=%d, type=4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709, name="root"\n' \
    $((size_mib * 2048)) | sfdisk -q --no-reread --no-tell-kernel "$raw" >&2 \
    || { echo "sfdisk on $raw failed" >&2; return 1; }
  dd if="$fsimg" of="$raw" bs=1M seek=1 conv=notrunc,sparse status=none
  rm -f "$fsimg"
  qemu-img convert -O qcow2 "$raw" "$out.tmp"
  rm -f "$raw"
  mv "$out.tmp" "$out"
}

# write_grub_cfg FILE TITLE FS_UUID KERNEL INITRD ARGS
# KERNEL and INITRD are paths inside the root filesystem (/boot/...).
write_grub_cfg() {
  local file=$1 title=$2 uuid=$3 kernel=$4 initrd=$5 args=$6
  cat >"$file" <<EOF
#
# GRUB configuration of a Stratus kit image, in the form grub-mkconfig writes
# (written by kit/disk-image.sh; no GRUB is installed: the VMM boots the
# kernel, initrd and arguments of the default entry directly)
#

### BEGIN /etc/grub.d/00_header ###
if [ -s \$prefix/grubenv ]; then
  load_env
fi
set default="0"

if [ x"\${feature_menuentry_id}" = xy ]; then
  menuentry_id_option="--id"
else
  menuentry_id_option=""
fi

export menuentry_id_option

terminal_input console serial
terminal_output console serial
serial --unit=0 --speed=115200
set timeout=0
### END /etc/grub.d/00_header ###

### BEGIN /etc/grub.d/10_linux ###
menuentry '$title' --class gnu-linux --class gnu --class os \$menuentry_id_option 'gnulinux-simple-$uuid' {
	insmod gzio
	insmod part_gpt
	insmod ext2
	search --no-floppy --fs-uuid --set=root $uuid
	echo	'Loading Linux ...'
	linux	$kernel $args
	echo	'Loading initial ramdisk ...'
	initrd	$initrd
}
### END /etc/grub.d/10_linux ###
EOF
}
