# Part of kit/build-kit.sh (sourced; uses its fetch_deb, log, die, $kit, $work, $here,
# $gen_cpio, $bb_deb): cloud-small.qcow2, the smallest whole-disk cloud image.
#
# A GPT disk with one ext4 root partition: /boot holds the test kernel (bzImage), an initrd
# (busybox, kit/cloud-initrd.sh as /init: mounts root=UUID=... and switches to it) and
# /boot/grub/grub.cfg. The root holds busybox, dropbear (Debian's dropbear-bin and the shared
# libraries it links, taken from the packages, not from this host) and kit/cloud-init.sh as
# /sbin/init: DHCP, identity from a config drive or the metadata service, keys, user data, ssh.
. "$here/disk-image.sh"

# Debian packages whose files dropbear needs: dropbear-bin and its Depends/Pre-Depends, closed.
dropbear_debs() {
  local todo=(dropbear-bin) seen=" " pkg deb dep
  while [ ${#todo[@]} -gt 0 ]; do
    pkg=${todo[0]}; todo=("${todo[@]:1}")
    case "$seen" in *" $pkg "*) continue ;; esac
    seen="$seen$pkg "
    deb=$(fetch_deb "$pkg")
    echo "$deb"
    # "a (>= 1), b | c, d:any" -> a b d (the first of alternatives; no versions or arch qualifiers)
    for dep in $(dpkg-deb -f "$deb" Pre-Depends Depends | sed -e 's/^[A-Za-z-]*: //' \
                   | tr ',' '\n' | sed -e 's/|.*//' -e 's/(.*)//' -e 's/:.*//' -e 's/[[:space:]]//g'); do
      [ -n "$dep" ] && todo+=("$dep")
    done
  done
}

mapfile -t small_debs < <(dropbear_debs)
cstamp=$( (for d in "${small_debs[@]}"; do basename "$d"; done; basename "$bb_deb"; cat "$kit/test-kernel/stamp"
           cat "$here/cloud-small.sh" "$here/disk-image.sh" "$here/cloud-initrd.sh" "$here/cloud-init.sh" \
               "$here/udhcpc.script" "$here/meta-data.awk") | sha256sum | cut -c1-16)
if fresh "$kit/cloud-small.stamp" "$cstamp" && [ -f "$kit/cloud-small.qcow2" ]; then
  log "cloud-small.qcow2 is up to date"
else
  log "building cloud-small.qcow2"
  t0=$SECONDS
  cs="$work/cloud-small"
  rm -rf "$cs"
  mkdir -p "$cs/debs" "$cs/root"
  for d in "${small_debs[@]}"; do dpkg-deb -x "$d" "$cs/debs"; done
  dpkg-deb -x "$bb_deb" "$cs/busybox"
  bb="$cs/busybox/bin/busybox"
  r="$cs/root"

  for d in bin sbin usr/bin usr/sbin usr/share/stratus lib/x86_64-linux-gnu lib64 etc/dropbear dev proc sys \
           run tmp root/.ssh mnt/config boot/grub var/lib/stratus var/log; do
    mkdir -p "$r/$d"
  done
  chmod 1777 "$r/tmp"
  chmod 0700 "$r/root" "$r/root/.ssh"
  ln -s /run "$r/var/run"
  cp "$bb" "$r/bin/busybox"
  "$bb" --list | while read -r applet; do
    [ "$applet" = busybox ] || ln -s busybox "$r/bin/$applet"
  done
  install -m 0755 "$here/cloud-init.sh" "$r/sbin/init"
  install -m 0755 "$here/udhcpc.script" "$r/etc/udhcpc.script"
  install -m 0644 "$here/meta-data.awk" "$r/usr/share/stratus/meta-data.awk"

  # dropbear and exactly the libraries it loads, as the packages' own loader resolves them
  # (which also proves the binaries run).
  install -m 0755 "$cs/debs/usr/sbin/dropbear" "$r/usr/sbin/dropbear"
  install -m 0755 "$cs/debs/usr/bin/dropbearkey" "$r/usr/bin/dropbearkey"
  ldso="$cs/debs/lib64/ld-linux-x86-64.so.2"
  [ -e "$ldso" ] || die "libc6 has no /lib64/ld-linux-x86-64.so.2"
  libpath="$cs/debs/lib/x86_64-linux-gnu:$cs/debs/usr/lib/x86_64-linux-gnu"
  for exe in "$r/usr/sbin/dropbear" "$r/usr/bin/dropbearkey"; do
    "$ldso" --library-path "$libpath" --list "$exe" >"$cs/ldd" || die "$(basename "$exe") does not load: $(cat "$cs/ldd")"
    while read -r soname arrow path _; do
      # The loader names itself by its absolute path; it is copied below.
      [ "$arrow" = "=>" ] && [ "${soname#/}" = "$soname" ] || continue
      case "$path" in
        "$cs/debs/"*) cp -L "$path" "$r/lib/x86_64-linux-gnu/$soname" ;;
        *) die "$(basename "$exe") needs $soname, which no package of dropbear_debs holds (found $path)" ;;
      esac
    done <"$cs/ldd"
  done
  cp -L "$ldso" "$r/lib/x86_64-linux-gnu/ld-linux-x86-64.so.2"
  ln -sf ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$r/lib64/ld-linux-x86-64.so.2"

  cat >"$r/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$r/etc/group" <<'EOF'
root:x:0:
tty:x:5:
nogroup:x:65534:
EOF
  # "*": no password can log in (dropbear refuses an empty one), keys can.
  echo 'root:*:19000:0:99999:7:::' >"$r/etc/shadow"
  chmod 0600 "$r/etc/shadow"
  printf '/bin/sh\n/bin/ash\n' >"$r/etc/shells"
  echo cloud-small >"$r/etc/hostname"
  echo '127.0.0.1 localhost' >"$r/etc/hosts"
  cat >"$r/etc/fstab" <<'EOF'
# The root is mounted by the initrd (root=UUID=... on the command line).
sysfs  /sys      sysfs   nosuid,nodev,noexec             0 0
devpts /dev/pts  devpts  gid=5,mode=0620,ptmxmode=0666   0 0
tmpfs  /run      tmpfs   nosuid,nodev,mode=0755          0 0
EOF
  # busybox init after /sbin/init's work: it only reaps orphans and powers off on request.
  cat >"$r/etc/inittab" <<'EOF'
::ctrlaltdel:/bin/reboot
::shutdown:/bin/echo STRATUS-GUEST-POWEROFF
::shutdown:/bin/mount -o remount,ro /
EOF

  # The initrd: busybox and kit/cloud-initrd.sh, uncompressed (see guest-kernel.md).
  {
    echo "dir /dev 0755 0 0"
    echo "nod /dev/console 0600 0 0 c 5 1"
    echo "nod /dev/null 0666 0 0 c 1 3"
    for d in /bin /proc /sys /newroot; do echo "dir $d 0755 0 0"; done
    echo "file /bin/busybox $bb 0755 0 0"
    echo "file /init $here/cloud-initrd.sh 0755 0 0"
    "$bb" --list | while read -r applet; do
      [ "$applet" = busybox ] || echo "slink /bin/$applet /bin/busybox 0777 0 0"
    done
  } >"$cs/initrd.list"
  "$gen_cpio" "$cs/initrd.list" >"$r/boot/initrd.img"
  cp "$kit/test-kernel/bzImage" "$r/boot/bzImage"

  read -r small_uuid </proc/sys/kernel/random/uuid
  write_grub_cfg "$r/boot/grub/grub.cfg" "Stratus cloud-small" "$small_uuid" /boot/bzImage /boot/initrd.img \
    "root=UUID=$small_uuid rw console=ttyS0"
  make_disk "$r" 64 "$small_uuid" cloud-root "$kit/cloud-small.qcow2" || die "cannot make cloud-small.qcow2"
  rm -rf "$cs"
  echo "$cstamp" >"$kit/cloud-small.stamp"
  log "cloud-small.qcow2: $kit/cloud-small.qcow2 ($((SECONDS - t0)) s)"
fi
