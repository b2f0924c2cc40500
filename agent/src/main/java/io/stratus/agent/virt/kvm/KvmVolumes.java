package io.stratus.agent.virt.kvm;

import io.stratus.agent.store.PrivateFiles;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import io.stratus.kvm.virtio.block.BlockBackend;
import io.stratus.kvm.virtio.block.NbdVolume;
import io.stratus.kvm.virtio.block.VirtioBlock;
import io.stratus.kvm.vm.VirtualMachine;
import java.io.IOException;
import java.io.Reader;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;

/**
 * A kvm guest's volumes: which attachment fills which of its VM's volume slots
 * ({@link VirtualMachine#volumeSlots()}). kvm-runtime's slots know their volume, not the agent's
 * attachment; this keeps that record, in memory while the guest runs (it lives in this JVM) and
 * beside a snapshot ({@value #FILE}) for the guest restored from it.
 */
final class KvmVolumes {
    static final String FILE = "volume-attachments.properties";

    private final VirtualMachine vm;
    /** attachment id → slot index. Guarded by this. */
    private final Map<String, Integer> attachments = new HashMap<>();

    KvmVolumes(VirtualMachine vm) {
        this.vm = vm;
    }

    /** The volume as the VMM's slots take it: the serial is the volume id's first 20 bytes. */
    static NbdVolume nbdVolume(GuestSpec.Volume v) {
        NbdExport e = v.export();
        return e.socket().map(s -> NbdVolume.unix(v.volumeId(), s.toString(), e.name(), v.readOnly()))
                .orElseGet(() -> NbdVolume.tcp(v.volumeId(), e.host(), e.port(), e.name(), v.readOnly()));
    }

    /**
     * Fills the slots with the spec's volumes ({@link GuestSpec#slotLayout}), before the guest runs:
     * its driver then probes them filled, read-only ones with VIRTIO_BLK_F_RO. A boot volume is no
     * slot's: it is the VM's first disk.
     */
    synchronized void fillAtBoot(GuestSpec spec) {
        List<Optional<GuestSpec.Volume>> layout = spec.slotLayout();
        List<VirtioBlock> slots = vm.volumeSlots();
        for (int i = 0; i < layout.size(); i++) {
            if (layout.get(i).isPresent()) {
                fill(slots.get(i), layout.get(i).get());
                attachments.put(layout.get(i).get().attachmentId(), i);
            }
        }
    }

    /**
     * The record of a guest that a live migration's stream restored into {@code vm}: each slot of
     * {@code layout} (the source's, from its Hello) must hold the volume its attachment names, and
     * every other slot must be empty.
     *
     * @throws HypervisorException {@code InvalidVolumes}: a slot holds another volume, or none
     */
    static KvmVolumes adopt(VirtualMachine vm, String instanceId, List<Optional<GuestSpec.Volume>> layout) {
        KvmVolumes v = new KvmVolumes(vm);
        v.attachments.putAll(adopted(vm.volumeSlots(), instanceId, layout));
        return v;
    }

    /** {@link #adopt}'s check of the restored {@code slots}: attachment id → slot index. */
    static Map<String, Integer> adopted(List<VirtioBlock> slots, String instanceId,
                                        List<Optional<GuestSpec.Volume>> layout) {
        Map<String, Integer> adopted = new HashMap<>();
        if (layout.size() != slots.size()) {
            throw new HypervisorException("InvalidVolumes", "instance " + instanceId + " arrived with " + slots.size()
                    + " volume slots, this host expected " + layout.size());
        }
        for (int i = 0; i < slots.size(); i++) {
            Optional<String> held = slots.get(i).volume().map(NbdVolume::volumeId);
            Optional<String> expected = layout.get(i).map(GuestSpec.Volume::volumeId);
            if (!held.equals(expected)) {
                throw new HypervisorException("InvalidVolumes", "instance " + instanceId + ": volume slot " + i
                        + " arrived holding " + held.map(id -> "volume " + id).orElse("nothing") + ", the source said "
                        + expected.map(id -> "volume " + id).orElse("nothing"));
            }
            if (layout.get(i).isPresent()) {
                adopted.put(layout.get(i).get().attachmentId(), i);
            }
        }
        return adopted;
    }

    /**
     * Which of {@code known} each slot holds, in slot order ("" for an empty slot or one whose
     * attachment the caller does not know): a live migration's Hello.
     */
    synchronized List<String> layout(Collection<String> known) {
        return layout(attachments, vm.volumeSlots().size(), known);
    }

    static List<String> layout(Map<String, Integer> attachments, int slots, Collection<String> known) {
        List<String> layout = new ArrayList<>(Collections.nCopies(slots, ""));
        attachments.forEach((id, slot) -> {
            if (known.contains(id)) {
                layout.set(slot, id);
            }
        });
        return List.copyOf(layout);
    }

    /** Fills a free slot; an attachment the guest has already is nothing to do. */
    synchronized void attach(String instanceId, GuestSpec.Volume v) {
        if (attachments.containsKey(v.attachmentId())) {
            return;
        }
        if (v.readOnly()) {
            // VIRTIO_BLK_F_RO is negotiated when the guest's driver probes a slot: an empty slot was writable.
            throw new HypervisorException("NotSupported", "the kvm driver attaches read-only volumes at boot only:"
                    + " a running guest's disk slots were made writable");
        }
        List<VirtioBlock> slots = vm.volumeSlots();
        int free = -1;
        for (int i = 0; i < slots.size() && free < 0; i++) {
            if (slots.get(i).backend() == BlockBackend.EMPTY && !attachments.containsValue(i)) {
                free = i;
            }
        }
        if (free < 0) {
            throw new HypervisorException("NoFreeDiskSlot", "instance " + instanceId
                    + " has no empty disk slot left for volume " + v.volumeId());
        }
        fill(slots.get(free), v);
        attachments.put(v.attachmentId(), free);
    }

    private static void fill(VirtioBlock slot, GuestSpec.Volume v) {
        try {
            slot.fill(nbdVolume(v));
        } catch (IOException e) {
            throw new HypervisorException("VolumeUnreachable", "volume " + v.volumeId() + " at " + v.export()
                    + " cannot be opened: " + e.getMessage(), e);
        }
    }

    /** Flushes and empties the attachment's slot; an attachment the guest does not have is nothing to do. */
    synchronized void detach(String attachmentId) {
        Integer slot = attachments.get(attachmentId);
        if (slot == null) {
            return;
        }
        try {
            vm.volumeSlots().get(slot).empty();
        } catch (IOException e) {
            throw new HypervisorException("VolumeUnreachable", "the writes to volume attachment " + attachmentId
                    + " cannot be flushed to its server, so it stays attached: " + e.getMessage(), e);
        }
        attachments.remove(attachmentId);
    }

    /** Writes the record beside a snapshot in {@code dir}. */
    synchronized void save(Path dir) throws IOException {
        Properties p = new Properties();
        attachments.forEach((id, slot) -> p.setProperty(id, Integer.toString(slot)));
        Path file = dir.resolve(FILE);
        Files.deleteIfExists(file);
        PrivateFiles.createFile(file);
        try (Writer w = Files.newBufferedWriter(file, StandardCharsets.UTF_8)) {
            p.store(w, "attachment id = volume slot of the kvm guest");
        }
    }

    /**
     * The record beside a snapshot in {@code dir}, for the guest restored from it (none for a
     * snapshot of a guest without volumes). A slot the record names must hold a volume.
     */
    static KvmVolumes load(VirtualMachine vm, Path dir) throws IOException {
        KvmVolumes v = new KvmVolumes(vm);
        Properties p = new Properties();
        try (Reader r = Files.newBufferedReader(dir.resolve(FILE), StandardCharsets.UTF_8)) {
            p.load(r);
        } catch (NoSuchFileException e) {
            return v;
        }
        List<VirtioBlock> slots = vm.volumeSlots();
        for (String id : p.stringPropertyNames()) {
            Optional<Integer> slot = parse(p.getProperty(id));
            if (slot.isEmpty() || slot.get() >= slots.size() || slots.get(slot.get()).volume().isEmpty()) {
                throw new IOException(dir.resolve(FILE) + " names slot '" + p.getProperty(id) + "' for attachment "
                        + id + ", which the snapshot's guest does not have filled");
            }
            v.attachments.put(id, slot.get());
        }
        return v;
    }

    private static Optional<Integer> parse(String s) {
        try {
            int i = Integer.parseInt(s);
            return i >= 0 ? Optional.of(i) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
