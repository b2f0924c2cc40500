#!/bin/sh
# /init of the Stratus kit initramfs (busybox ash).
#
# Prints "STRATUS-GUEST-READY cpus=<n> memkb=<MemTotal>" once userspace runs,
# brings eth0 up with DHCP when the guest has a NIC ("STRATUS-NET-UP eth0 <addr>"),
# mounts /dev/vda on /mnt if the guest has a disk, runs what `stratus.run=PATH`
# on the kernel command line names, then powers off.
#
# Every fork+exec costs about 2 s on a host whose KVM emulates guest kernel
# code, so this script reads /proc with shell built-ins instead of running
# tools, and runs as few programs as it can.

mount -t proc proc /proc

for m in /lib/modules/*.ko; do
  [ -e "$m" ] && insmod "$m"
done

cpus=0
while read -r key _; do
  [ "$key" = processor ] && cpus=$((cpus + 1))
done </proc/cpuinfo
memkb=0
while read -r key value _; do
  if [ "$key" = MemTotal: ]; then memkb=$value; break; fi
done </proc/meminfo
echo "STRATUS-GUEST-READY cpus=$cpus memkb=$memkb"

# A NIC (a port of a tenant network) gets its address by DHCP: a few quick tries here, then
# udhcpc goes on in the background (-b), so that a network without DHCP delays boot by seconds only.
# It asks for the MTU (-O mtu): a VXLAN network's is 1450, and dnsmasq sends only what is asked.
while read -r line; do
  case "$line" in
    eth0:*)
      ip link set lo up
      udhcpc -i eth0 -s /etc/udhcpc.script -O mtu -t 3 -T 1 -A 2 -b -q 2>/dev/null
      ;;
  esac
done </proc/net/dev

read -r cmdline </proc/cmdline
run=
for arg in $cmdline; do
  case "$arg" in stratus.run=*) run=${arg#stratus.run=} ;; esac
done

disk=
while read -r _ _ _ name; do
  [ "$name" = vda ] && disk=/dev/vda
done </proc/partitions
if [ -n "$disk" ]; then
  mount -t devtmpfs devtmpfs /dev
  if mount "$disk" /mnt 2>/dev/null || mount -o ro "$disk" /mnt; then
    echo "STRATUS-DISK-MOUNTED $disk"
  else
    echo "STRATUS-DISK-FAILED $disk"
  fi
fi

if [ -n "$run" ]; then
  echo "STRATUS-RUN-BEGIN $run"
  "$run"
  echo "STRATUS-RUN-END rc=$?"
fi

[ -n "$disk" ] && umount /mnt 2>/dev/null
echo "STRATUS-GUEST-POWEROFF"
# With ACPI the kernel powers off through the VMM's sleep control register.
# Without it (acpi=off) the kernel halts every CPU with interrupts disabled,
# which the Stratus VMM also treats as the end of the guest.
poweroff -f
