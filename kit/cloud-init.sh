#!/bin/sh
# /sbin/init of cloud-small.qcow2 (busybox ash): the smallest guest that behaves like a cloud
# image. It tells its progress on the console, one marker a step:
#
#   STRATUS-GUEST-READY cpus=<n> memkb=<MemTotal>
#   STRATUS-NET-UP eth0 <address>/<prefix> [mtu <mtu>]          (udhcpc.script, by DHCP)
#   STRATUS-IDENTITY source=<config-drive|metadata-service|none> instance=<uuid> hostname=<name>
#   STRATUS-KEYS-INSTALLED <count>                              (root's authorized_keys)
#   STRATUS-USER-DATA-BEGIN ... STRATUS-USER-DATA-END rc=<n>    (user data that starts with #!)
#   STRATUS-SSH-READY                                           (dropbear listens on port 22)
#
# then stays up as busybox init (`poweroff` from a session powers it off through ACPI).
# The identity comes from a config drive (ISO 9660 labelled config-2, OpenStack's layout) or
# else from the metadata service at 169.254.169.254 (its EC2 paths, plain text). User data
# runs once per instance, as cloud-init's scripts-user does.
#
# Every fork+exec costs about 2 s on a host whose KVM emulates guest kernel code (see
# kit/init.sh): shell built-ins do the reading and parsing wherever they can.

export PATH=/sbin:/usr/sbin:/bin:/usr/bin
umask 022
mount -t proc proc /proc
# Booted without the initrd, the kernel may have mounted the root read-only.
while read -r _ mnt fstype opts _; do
  if [ "$mnt" = / ] && [ "$fstype" = ext4 ]; then
    case "$opts" in ro|ro,*) mount -o remount,rw / ;; esac
  fi
done </proc/mounts
mkdir -p /dev/pts
mount -a   # /etc/fstab: sysfs, devpts, /run

cpus=0
while read -r key _; do
  [ "$key" = processor ] && cpus=$((cpus + 1))
done </proc/cpuinfo
memkb=0
while read -r key value _; do
  if [ "$key" = MemTotal: ]; then memkb=$value; break; fi
done </proc/meminfo
echo "STRATUS-GUEST-READY cpus=$cpus memkb=$memkb"

state=/run/stratus
mkdir -p $state /var/lib/stratus

# ------------------------------------------------------------------ network
# A few quick DHCP tries, then udhcpc goes on in the background (-b) and renews the lease.
# It asks for the MTU and for classless static routes: the route to the metadata service.
ip link set lo up
nic=
while read -r line; do
  case "$line" in eth0:*) nic=eth0 ;; esac
done </proc/net/dev
if [ -n "$nic" ]; then
  udhcpc -i eth0 -s /etc/udhcpc.script -O mtu -O staticroutes -t 4 -T 1 -A 2 -b 2>/dev/null
fi

# ------------------------------------------------------------------ identity
source=none instance= name= keys=$state/keys userdata=
: >$keys

# meta-data.awk prints "uuid ...", "hostname ...", "name ..." and "key ..." lines.
read_identity() {
  while read -r tag value; do
    case "$tag" in
      uuid) instance=$value ;;
      hostname) name=$value ;;
      name) [ -n "$name" ] || name=$value ;;
      key) echo "$value" >>$keys ;;
    esac
  done <"$1"
}

drive=$(findfs LABEL=config-2 2>/dev/null) || drive=$(findfs LABEL=CONFIG-2 2>/dev/null) || drive=
if [ -n "$drive" ] && mkdir -p /mnt/config && mount -t iso9660 -o ro "$drive" /mnt/config 2>/dev/null; then
  latest=/mnt/config/openstack/latest
  if [ -f $latest/meta_data.json ]; then
    source=config-drive
    awk -f /usr/share/stratus/meta-data.awk $latest/meta_data.json >$state/identity
    read_identity $state/identity
    if [ -f $latest/user_data ]; then
      cp $latest/user_data $state/user-data && userdata=$state/user-data
    fi
  fi
  umount /mnt/config
fi

# HTTP/1.0 by hand through nc: busybox's static wget crashes in this guest. Prints the body of a
# 200 answer into $2; any other answer is a failure. nc's -w bounds only the connect: a server
# that accepts and never answers is cut off by timeout.
cr=$(printf '\r')
http_get() {
  printf 'GET %s HTTP/1.0\r\nHost: 169.254.169.254\r\n\r\n' "$1" |
    timeout 10 nc -w 3 169.254.169.254 80 >$state/http 2>/dev/null || return 1
  read -r _ code _ <$state/http || return 1
  [ "$code" = 200 ] || return 1
  sed "1,/^$cr\\{0,1\\}\$/d" $state/http >"$2"
}

if [ $source = none ] && [ -n "$nic" ]; then
  # The route may come with the lease a moment later: about 20 s of tries.
  tries=0
  until http_get /latest/meta-data/instance-id $state/instance-id; do
    tries=$((tries + 1))
    [ $tries -ge 10 ] && break
    sleep 2
  done
  if [ $tries -lt 10 ]; then
    source=metadata-service
    read -r instance <$state/instance-id
    http_get /latest/meta-data/hostname $state/hostname && read -r name <$state/hostname
    http_get /latest/meta-data/public-keys/0/openssh-key $state/openssh-key &&
      while read -r line || [ -n "$line" ]; do [ -n "$line" ] && echo "$line" >>$keys; done <$state/openssh-key
    http_get /latest/user-data $state/user-data && userdata=$state/user-data
  fi
fi

# cloud-init's Debian default keeps the first label of a qualified name as the hostname.
host=${name%%.*}
if [ -n "$host" ]; then
  hostname "$host"
  echo "$host" >/etc/hostname
  names=$host
  [ "$name" = "$host" ] || names="$name $host"
  printf '127.0.0.1 localhost\n127.0.1.1 %s\n' "$names" >/etc/hosts
else
  read -r host </etc/hostname
  hostname "$host"
fi
echo "STRATUS-IDENTITY source=$source instance=${instance:-none} hostname=$host"

count=0
umask 077
: >/root/.ssh/authorized_keys
while read -r line; do
  echo "$line" >>/root/.ssh/authorized_keys
  count=$((count + 1))
done <$keys
umask 022
echo "STRATUS-KEYS-INSTALLED $count"

# ------------------------------------------------------------------ user data
if [ -n "$userdata" ] && [ -s "$userdata" ]; then
  read -r first <"$userdata"
  ran=
  [ -f /var/lib/stratus/user-data-ran ] && read -r ran </var/lib/stratus/user-data-ran
  case "$first" in
    '#!'*)
      if [ -n "$instance" ] && [ "$ran" = "$instance" ]; then
        echo "STRATUS-USER-DATA-SKIPPED ran before for instance $instance"
      else
        script=/var/lib/stratus/user-data
        cp "$userdata" $script
        chmod 0700 $script
        echo "${instance:-none}" >/var/lib/stratus/user-data-ran
        echo "STRATUS-USER-DATA-BEGIN"
        (cd / && $script </dev/null)
        echo "STRATUS-USER-DATA-END rc=$?"
      fi ;;
    *) echo "STRATUS-USER-DATA-IGNORED not a script (it does not start with #!)" ;;
  esac
fi

# ------------------------------------------------------------------ ssh
# The host key is made at the first boot, so that every instance has its own.
hostkey=/etc/dropbear/dropbear_ed25519_host_key
[ -s $hostkey ] || dropbearkey -t ed25519 -f $hostkey 2>/dev/null
dropbear -r $hostkey -p 22 -s

# Ready means listening: a socket on port 22 (0016) in state LISTEN (0A).
listening() {
  while read -r _ local _ st _; do
    [ "${local##*:}" = 0016 ] && [ "$st" = 0A ] && return 0
  done </proc/net/tcp
  return 1
}
tries=0
until listening || [ $tries -ge 50 ]; do
  tries=$((tries + 1))
  sleep 0.1
done
if listening; then echo "STRATUS-SSH-READY"; else echo "STRATUS-SSH-FAILED"; fi

exec /bin/busybox init
