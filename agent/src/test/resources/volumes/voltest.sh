#!/bin/sh
# A guest's side of VolumesIT (busybox ash, appended to the kit's initramfs): its first disk, vda,
# is an empty volume slot. It waits for a volume, prints what the volume holds, writes $VOLTOKEN
# (from the kernel command line) when given, waits for the detach, then for a second attach, on
# which it writes until a write fails. Markers on the console tell the test where it is.
mount -t sysfs sysfs /sys 2>/dev/null
mount -t devtmpfs devtmpfs /dev 2>/dev/null
echo VOLTEST-WAITING
while read -r s </sys/block/vda/size && [ "$s" = 0 ]; do sleep 1; done
echo "VOLTEST-ATTACHED sectors=$s serial=$(cat /sys/block/vda/serial)"
echo "VOLTEST-READ [$(dd if=/dev/vda bs=64 count=1 2>/dev/null | tr -d '\000\n')]"
if [ -n "$VOLTOKEN" ]; then
  echo "$VOLTOKEN" >/tmp/token
  if dd if=/tmp/token of=/dev/vda bs=512 count=1 conv=sync,fsync 2>/dev/null; then
    echo VOLTEST-WRITTEN
  else
    echo VOLTEST-WRITE-FAILED
  fi
fi
while read -r s </sys/block/vda/size && [ "$s" != 0 ]; do sleep 1; done
echo VOLTEST-DETACHED
while read -r s </sys/block/vda/size && [ "$s" = 0 ]; do sleep 1; done
echo VOLTEST-WRITING
i=0
while dd if=/dev/zero of=/dev/vda bs=4096 count=16 seek=$((1024 + i % 64 * 16)) conv=fsync 2>/dev/null; do
  i=$((i + 1))
  [ $((i % 5)) = 0 ] && echo "VOLTEST-WROTE $i"
done
echo VOLTEST-IOERROR
sleep 100000
