#!/bin/sh
# A guest's side of VolumesIT (busybox ash, appended to the kit's initramfs): its first disk, vda,
# is an empty volume slot; the volume holds an ext4 file system made on the host. It waits for
# the volume, mounts it, prints its serial and /token, writes $VOLTOKEN (from the kernel command
# line) to /token when given, unmounts, and waits for the detach. On the next attach the writer
# (the guest with $VOLTOKEN) writes files until a write fails; the other guest mounts the volume
# (replaying its journal), prints /token and unmounts. Markers on the console tell the test where
# it is.
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mkdir -p /vol
attached() {
  while read -r s </sys/block/vda/size && [ "$s" = 0 ]; do sleep 1; done
  mount -t ext4 /dev/vda /vol || echo VOLTEST-MOUNT-FAILED
}
echo VOLTEST-WAITING
attached
echo "VOLTEST-ATTACHED sectors=$s serial=[$(cat /sys/block/vda/serial)]"
echo "VOLTEST-READ [$(cat /vol/token 2>/dev/null)]"
if [ -n "$VOLTOKEN" ]; then
  echo "$VOLTOKEN" >/tmp/token
  if dd if=/tmp/token of=/vol/token conv=fsync 2>/dev/null && umount /vol; then
    echo VOLTEST-WRITTEN
  else
    echo VOLTEST-WRITE-FAILED
  fi
else
  umount /vol && echo VOLTEST-RELEASED
fi
while read -r s </sys/block/vda/size && [ "$s" != 0 ]; do sleep 1; done
echo VOLTEST-DETACHED
attached
if [ -z "$VOLTOKEN" ]; then
  echo "VOLTEST-REREAD [$(cat /vol/token 2>/dev/null)]"
  umount /vol && echo VOLTEST-RELEASED
  sleep 100000
fi
echo VOLTEST-WRITING
i=0
while dd if=/dev/zero of=/vol/fill-$((i % 16)) bs=4096 count=16 conv=fsync 2>/dev/null; do
  i=$((i + 1))
  [ $((i % 5)) = 0 ] && echo "VOLTEST-WROTE $i"
done
echo VOLTEST-IOERROR
sleep 100000
