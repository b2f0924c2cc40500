#!/bin/sh
# /init of cloud-small.qcow2's initrd (busybox ash): mounts the root filesystem that the
# command line names (root=UUID=<uuid>, root=LABEL=<label> or root=/dev/<name>; rw or ro) and
# hands over to its init (/sbin/init, or init=<path>), as a distribution's initramfs does.
# The test kernel has its disk drivers built in: no modules to load.
#
# Few programs run (each fork+exec is expensive on an emulating host, see kit/init.sh).

mount -t proc proc /proc
mount -t devtmpfs devtmpfs /dev

read -r cmdline </proc/cmdline
root= mode=ro init=/sbin/init
for arg in $cmdline; do
  case "$arg" in
    root=*) root=${arg#root=} ;;
    rw) mode=rw ;;
    ro) mode=ro ;;
    init=*) init=${arg#init=} ;;
  esac
done

fail() {
  echo "STRATUS-ROOT-FAILED $*"
  poweroff -f
}

# The disks are probed before /init runs; the retries cover a slow device all the same.
dev=
case "$root" in
  UUID=*|LABEL=*)
    tries=0
    until dev=$(findfs "$root" 2>/dev/null); do
      tries=$((tries + 1))
      [ $tries -ge 20 ] && fail "no filesystem with $root"
      sleep 0.5
    done ;;
  /dev/*) dev=$root ;;
  *) fail "root=$root: give root=UUID=<uuid>, root=LABEL=<label> or root=/dev/<name>" ;;
esac

mount -t ext4 -o "$mode" "$dev" /newroot || fail "cannot mount $dev ($root)"
[ -e "/newroot$init" ] || [ -L "/newroot$init" ] || fail "no $init on $dev"
mount --move /dev /newroot/dev
umount /proc
exec switch_root /newroot "$init"
