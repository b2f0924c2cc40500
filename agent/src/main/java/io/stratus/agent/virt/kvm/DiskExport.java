package io.stratus.agent.virt.kvm;

import com.sun.jna.Memory;
import com.sun.jna.Pointer;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.kvm.virtio.block.DiskFormat;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.vm.VirtualMachine;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Optional;

/**
 * A disk as its guest sees it, copied into a raw file through kvm-runtime's image formats (a
 * qcow2 layer reads through to its base). A running VM's disk is read through the VM's own open
 * image (it holds the file's lock), with the VM paused and the image flushed; a disk no VM uses is
 * opened read-only. Blocks of zeros are left as holes: the copy is sparse.
 */
final class DiskExport {
    private static final int BLOCK = 1 << 20;

    private DiskExport() {
    }

    static void export(Optional<VirtualMachine> vm, GuestSpec.Disk disk, Path target)
            throws IOException, InterruptedException {
        Optional<DiskImage> open = vm.flatMap(v -> v.blockDevices().stream().flatMap(b -> b.image().stream())
                .filter(d -> d.path().toAbsolutePath().normalize().equals(disk.path().toAbsolutePath().normalize()))
                .findFirst());
        if (open.isEmpty()) {
            try (DiskImage image = DiskImage.open(disk.path(), true,
                    disk.format() == GuestSpec.Format.QCOW2 ? DiskFormat.QCOW2 : DiskFormat.RAW)) {
                copy(image, target);
            } catch (DiskImageException e) {
                throw new HypervisorException("DiskUnusable", e.getMessage(), e);
            }
            return;
        }
        VirtualMachine v = vm.get();
        boolean pausedHere = v.state() != VirtualMachine.State.PAUSED;
        if (pausedHere) {
            v.pause();
        }
        try {
            open.get().flush();
            copy(open.get(), target);
        } finally {
            if (pausedHere) {
                v.resume();
            }
        }
    }

    private static void copy(DiskImage image, Path target) throws IOException {
        long capacity = image.capacity();
        byte[] block = new byte[BLOCK];
        Memory buffer = new Memory(BLOCK);
        try (FileChannel out = FileChannel.open(target, StandardOpenOption.CREATE_NEW, StandardOpenOption.WRITE)) {
            // Safe because: buffer is this call's own native block, alive until the call returns, and
            // DiskImage.read writes at most the length it is given into it.
            long address = Pointer.nativeValue(buffer);
            for (long offset = 0; offset < capacity; offset += BLOCK) {
                int length = (int) Math.min(BLOCK, capacity - offset);
                image.read(new long[] {address}, new long[] {length}, 1, offset);
                buffer.read(0, block, 0, length);
                if (!zeros(block, length)) {
                    ByteBuffer data = ByteBuffer.wrap(block, 0, length);
                    long at = offset;
                    while (data.hasRemaining()) {
                        at += out.write(data, at);
                    }
                }
            }
            // The file is the disk's size even where it ends in a hole.
            if (out.size() < capacity) {
                out.write(ByteBuffer.allocate(1), capacity - 1);
            }
            out.force(true);
        } finally {
            buffer.close();
        }
    }

    private static boolean zeros(byte[] block, int length) {
        for (int i = 0; i < length; i++) {
            if (block[i] != 0) {
                return false;
            }
        }
        return true;
    }
}
