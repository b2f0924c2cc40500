package io.stratus.agent.virt.qemu;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.stratus.agent.store.PrivateFiles;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.NbdExport;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Collections;
import java.util.HexFormat;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Volumes on a QEMU guest without hotplug: microvm's virtio-mmio devices cannot be added to a
 * running Linux, so each guest gets {@code volumeSlots} virtio-blk disks at boot. A slot is a
 * {@code raw} node whose {@code file} child is an empty file (capacity 0) or a volume's NBD node
 * (QEMU's own NBD client). Attaching adds the NBD node, swaps the slot's child with
 * {@code blockdev-reopen} and announces the new capacity with {@code block_resize} (virtio-blk
 * raises its config-change interrupt on a resize; Linux logs "detected capacity change");
 * detaching swaps the empty file back, resizes to 0, and deletes the NBD node, which flushes it.
 * QEMU 7.2, tried by hand: a virtio-blk device refuses an empty drive, and a slot's serial is a
 * device property fixed at boot, so a volume attached to a running guest keeps the slot's (empty)
 * serial; volumes present at boot get theirs.
 *
 * <p>QEMU is the record of which slot holds what (the agent may restart while QEMU runs on): a
 * slot is free when its node reads the slot's empty file, and a volume's node is named after its
 * attachment.
 */
final class VolumeSlots {
    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger LOG = Logger.getLogger(VolumeSlots.class);
    private static final String SLOT = "slot";
    private static final String EMPTY = "empty";
    private static final String BOOT_VOLUME = "bootvol";
    /** How long a detach waits for QEMU's NBD client to reach a server that went away: its longest retry pause and more. */
    private static final Duration RECONNECT_WAIT = Duration.ofSeconds(20);
    private static final Duration RETRY_PAUSE = Duration.ofMillis(500);

    private VolumeSlots() {
    }

    /** The empty file behind slot {@code i}: one per slot (two nodes writing one file would take its lock twice). */
    static Path emptyFile(QemuRun run, int i) {
        return run.dir().resolve("slot-" + i + ".empty");
    }

    /**
     * Makes the slots' empty files, empty again: a file that a failed resize grew must not show
     * old bytes as a new disk.
     */
    static void prepare(GuestSpec spec, QemuRun run) throws IOException {
        for (int i = 0; i < spec.volumeSlots(); i++) {
            Path f = emptyFile(run, i);
            Files.deleteIfExists(f);
            PrivateFiles.createFile(f);
        }
    }

    /** The boot volume's disk first (the guest's vda), as {@code -blockdev}/{@code -device} arguments. */
    static List<String> bootDisk(GuestSpec spec) {
        List<String> c = new ArrayList<>();
        spec.bootVolume().ifPresent(v -> {
            c.addAll(List.of("-blockdev", nbd(BOOT_VOLUME, v).toString()));
            c.add("-device");
            c.add("virtio-blk-device,drive=" + BOOT_VOLUME + ",serial=" + serial(v));
        });
        return c;
    }

    /** The slots after the other disks: the spec's volumes in theirs ({@link GuestSpec#slotLayout}), the rest empty. */
    static List<String> slots(GuestSpec spec, QemuRun run) {
        List<String> c = new ArrayList<>();
        List<Optional<GuestSpec.Volume>> layout = spec.slotLayout();
        for (int i = 0; i < spec.volumeSlots(); i++) {
            ObjectNode empty = JSON.createObjectNode().put("driver", "file").put("node-name", EMPTY + i)
                    .put("filename", emptyFile(run, i).toString());
            c.addAll(List.of("-blockdev", empty.toString()));
            ObjectNode slot = JSON.createObjectNode().put("driver", "raw").put("node-name", SLOT + i);
            String device = "virtio-blk-device,drive=" + SLOT + i + ",id=" + SLOT + "dev" + i;
            if (layout.get(i).isPresent()) {
                GuestSpec.Volume v = layout.get(i).get();
                String node = volumeNode(v.attachmentId());
                c.addAll(List.of("-blockdev", nbd(node, v).toString()));
                slot.put("file", node).put("read-only", v.readOnly());
                device += ",serial=" + serial(v);
            } else {
                slot.put("file", EMPTY + i);
            }
            c.addAll(List.of("-blockdev", slot.toString(), "-device", device));
        }
        return c;
    }

    /** Fills a free slot with {@code v}; nothing when the guest has its attachment already. */
    static void attach(Qmp qmp, QemuRun run, String instanceId, GuestSpec.Volume v) {
        if (v.readOnly()) {
            // A slot's read-only flag (VIRTIO_BLK_F_RO) is negotiated when the guest's driver probes it.
            throw new HypervisorException("NotSupported", "the qemu driver attaches read-only volumes at boot only:"
                    + " a running guest's disk slots were made writable");
        }
        String node = volumeNode(v.attachmentId());
        List<JsonNode> nodes = nodes(qmp);
        Optional<JsonNode> present = find(nodes, node);
        if (present.isPresent()) {
            if (slotOf(nodes, present.get()).isPresent()) {
                return;
            }
            // Left by an attach that failed half-way: added, never placed.
            qmp.execute("blockdev-del", JSON.createObjectNode().put("node-name", node));
        }
        int slot = freeSlot(nodes, run).orElseThrow(() -> new HypervisorException("NoFreeDiskSlot", "instance "
                + instanceId + " has no empty disk slot left for volume " + v.volumeId()));
        try {
            qmp.execute("blockdev-add", nbd(node, v));
        } catch (HypervisorException e) {
            throw new HypervisorException("VolumeUnreachable", "volume " + v.volumeId() + " at " + v.export()
                    + " cannot be opened: " + e.getMessage(), e);
        }
        try {
            qmp.execute("blockdev-reopen", reopen(SLOT + slot, node));
        } catch (HypervisorException e) {
            qmp.execute("blockdev-del", JSON.createObjectNode().put("node-name", node));
            throw e;
        }
        try {
            long size = find(nodes(qmp), node).map(n -> n.path("image").path("virtual-size").asLong()).orElse(0L);
            qmp.execute("block_resize", JSON.createObjectNode().put("node-name", SLOT + slot).put("size", size));
        } catch (HypervisorException e) {
            empty(qmp, slot, node);
            throw e;
        }
    }

    /** Flushes and empties the slot that holds the attachment; nothing when no slot does. */
    static void detach(Qmp qmp, String attachmentId) {
        String node = volumeNode(attachmentId);
        List<JsonNode> nodes = nodes(qmp);
        Optional<JsonNode> present = find(nodes, node);
        if (present.isEmpty()) {
            return;
        }
        Optional<Integer> slot = slotOf(nodes, present.get());
        if (slot.isEmpty()) {
            qmp.execute("blockdev-del", JSON.createObjectNode().put("node-name", node));
            return;
        }
        long deadline = System.nanoTime() + RECONNECT_WAIT.toNanos();
        while (true) {
            try {
                empty(qmp, slot.get(), node);
                return;
            } catch (HypervisorException e) {
                // QEMU flushes the volume before it lets go of it, which a server that is gone refuses. Its
                // client connects again in the background, retrying 1, 2, 4… up to 16 s apart, and a request
                // only finds the connection once it is made: a server that is back is waited for that long.
                if (System.nanoTime() > deadline) {
                    throw new HypervisorException("VolumeUnreachable", "the writes to volume attachment "
                            + attachmentId + " cannot be flushed to its server, so it stays attached: "
                            + e.getMessage(), e);
                }
                pause(RETRY_PAUSE);
            }
        }
    }

    /**
     * Which of {@code attachments} each slot holds, in slot order ("" for an empty slot or one whose
     * volume is none of them): what a live migration's target must build.
     */
    static List<String> layout(Qmp qmp, Collection<String> attachments) {
        List<JsonNode> nodes = nodes(qmp);
        List<Integer> numbers = slotNumbers(nodes);
        List<String> layout = new ArrayList<>(Collections.nCopies(numbers.isEmpty() ? 0
                : numbers.get(numbers.size() - 1) + 1, ""));
        for (String a : attachments) {
            find(nodes, volumeNode(a)).flatMap(n -> slotOf(nodes, n)).ifPresent(i -> layout.set(i, a));
        }
        return layout;
    }

    /**
     * Whether every disk the guest can write is a volume (its root volume, its slots' volumes or
     * their empty files), so that a live migration copies no disk: QEMU's plain migration (no
     * {@code block} capability) leaves every disk alone, flushes and lets go of them at the
     * switch-over (it inactivates its nodes), and the target opens the same exports, as libvirt
     * migrates a guest on shared storage. Read-only disks (the config drive) are never copied.
     */
    static boolean onlyVolumesWritable(Qmp qmp) {
        for (JsonNode device : qmp.execute("query-block", JSON.createObjectNode())) {
            JsonNode inserted = device.path("inserted");
            if (inserted.isMissingNode() || inserted.path("ro").asBoolean()) {
                continue;
            }
            String node = inserted.path("node-name").asText();
            if (!inserted.path("drv").asText().equals("nbd") && !node.matches(SLOT + "\\d{1,3}")) {
                return false;
            }
        }
        return true;
    }

    /** Whether a slot holds a writable volume (which a live migration must take out first). */
    static boolean holdsWritableVolume(Qmp qmp) {
        List<JsonNode> nodes = nodes(qmp);
        return slotNumbers(nodes).stream().anyMatch(i -> find(nodes, SLOT + i).map(s -> !s.path("ro").asBoolean()
                && !s.path("file").asText().equals(find(nodes, EMPTY + i).map(e -> e.path("file").asText())
                .orElse(""))).orElse(false));
    }

    /** A writable volume taken out of its slot for a migration: its slot, node and export. */
    record Released(int slot, String node, NbdExport export) {
    }

    /**
     * Takes every writable volume out of its slot, for a live migration of the paused guest: the
     * slot reads its empty file (capacity 0, which QEMU's block migration skips) and the volume's
     * node is closed, flushed first, so that the source lets go of the export. QEMU 7.2's block
     * migration copies every writable disk it finds and has no way to leave one out, and a
     * volume's data is on its NBD server already, where the target opens it itself. The guest is
     * not told (no resize): it is paused, and on the target its slot holds the volume again.
     *
     * @return what to {@link #restore} if the guest stays here
     */
    static List<Released> release(Qmp qmp) {
        List<JsonNode> nodes = nodes(qmp);
        List<Released> released = new ArrayList<>();
        try {
            for (int i : slotNumbers(nodes)) {
                Optional<JsonNode> slot = find(nodes, SLOT + i);
                Optional<JsonNode> empty = find(nodes, EMPTY + i);
                if (slot.isEmpty() || empty.isEmpty() || slot.get().path("ro").asBoolean()
                        || slot.get().path("file").asText().equals(empty.get().path("file").asText())) {
                    // Empty, or read-only: QEMU's block migration leaves read-only disks alone.
                    continue;
                }
                String file = slot.get().path("file").asText();
                Optional<JsonNode> volume = nodes.stream().filter(n -> n.path("drv").asText().equals("nbd")
                        && n.path("file").asText().equals(file)).findFirst();
                if (volume.isEmpty()) {
                    throw new HypervisorException("HypervisorError", "slot " + i + " reads " + file + ", which is no"
                            + " volume's NBD node: the guest cannot move without copying it");
                }
                String node = volume.get().path("node-name").asText();
                NbdExport export = NbdExport.parse(file);
                qmp.execute("blockdev-reopen", reopen(SLOT + i, EMPTY + i));
                released.add(new Released(i, node, export));
                // Closing the node flushes it: what the guest wrote is on the export before the target reads it.
                qmp.execute("blockdev-del", JSON.createObjectNode().put("node-name", node));
            }
        } catch (RuntimeException e) {
            restore(qmp, released);
            throw e;
        }
        return released;
    }

    /**
     * Puts volumes {@link #release}d for a migration that did not happen back in their slots (before
     * the guest runs again); one that cannot be reopened is logged, and its slot stays empty.
     *
     * @return the volumes that could not be put back, in words; empty when all were
     */
    static List<String> restore(Qmp qmp, List<Released> released) {
        List<String> failed = new ArrayList<>();
        for (Released r : released) {
            try {
                if (find(nodes(qmp), r.node()).isEmpty()) {
                    qmp.execute("blockdev-add", nbd(r.node(), r.export(), false));
                }
                qmp.execute("blockdev-reopen", reopen(SLOT + r.slot(), r.node()));
            } catch (HypervisorException e) {
                LOG.errorf("the volume at %s cannot go back into slot %d: %s; the guest sees an empty disk there",
                        r.export(), r.slot(), e.getMessage());
                failed.add("slot " + r.slot() + " (" + r.export() + "): " + e.getMessage());
            }
        }
        return failed;
    }

    private static void pause(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("VolumeUnreachable", "interrupted while waiting for a volume's server", e);
        }
    }

    /** The empty file back under the slot, its capacity 0 announced, and the volume's node closed (flushed). */
    private static void empty(Qmp qmp, int slot, String node) {
        qmp.execute("blockdev-reopen", reopen(SLOT + slot, EMPTY + slot));
        qmp.execute("block_resize", JSON.createObjectNode().put("node-name", SLOT + slot).put("size", 0));
        // Closing a node flushes it first: the volume's data is on its server when this returns.
        qmp.execute("blockdev-del", JSON.createObjectNode().put("node-name", node));
    }

    private static ObjectNode reopen(String slot, String file) {
        ObjectNode args = JSON.createObjectNode();
        args.putArray("options").addObject().put("driver", "raw").put("node-name", slot).put("file", file);
        return args;
    }

    /**
     * QEMU's NBD client on the export. No reconnect delay (QEMU's default): when the server goes,
     * the guest's requests fail at once with I/O errors instead of waiting.
     */
    private static ObjectNode nbd(String node, GuestSpec.Volume v) {
        return nbd(node, v.export(), v.readOnly());
    }

    private static ObjectNode nbd(String node, NbdExport e, boolean readOnly) {
        ObjectNode n = JSON.createObjectNode().put("driver", "nbd").put("node-name", node).put("export", e.name())
                .put("read-only", readOnly);
        ObjectNode server = n.putObject("server");
        if (e.socket().isPresent()) {
            server.put("type", "unix").put("path", e.socket().get().toString());
        } else {
            server.put("type", "inet").put("host", e.host()).put("port", Integer.toString(e.port()));
        }
        return n;
    }

    private static List<JsonNode> nodes(Qmp qmp) {
        List<JsonNode> out = new ArrayList<>();
        qmp.execute("query-named-block-nodes", JSON.createObjectNode().put("flat", true)).forEach(out::add);
        return out;
    }

    private static Optional<JsonNode> find(List<JsonNode> nodes, String name) {
        return nodes.stream().filter(n -> n.path("node-name").asText().equals(name)).findFirst();
    }

    /** The slot whose node reads {@code volume}'s data (a raw node shows its child's file name). */
    private static Optional<Integer> slotOf(List<JsonNode> nodes, JsonNode volume) {
        String file = volume.path("file").asText();
        return slotNumbers(nodes).stream()
                .filter(i -> find(nodes, SLOT + i).map(s -> s.path("file").asText().equals(file)).orElse(false))
                .findFirst();
    }

    private static Optional<Integer> freeSlot(List<JsonNode> nodes, QemuRun run) {
        return slotNumbers(nodes).stream()
                .filter(i -> find(nodes, SLOT + i).map(s -> !s.path("ro").asBoolean()
                        && s.path("file").asText().equals(emptyFile(run, i).toString())).orElse(false))
                .findFirst();
    }

    private static List<Integer> slotNumbers(List<JsonNode> nodes) {
        return nodes.stream().map(n -> n.path("node-name").asText()).filter(n -> n.matches(SLOT + "\\d{1,3}"))
                .map(n -> Integer.parseInt(n.substring(SLOT.length()))).sorted().toList();
    }

    /**
     * The volume's node name: QEMU takes at most 31 characters (letters, digits, '-', '_', '.'),
     * an attachment id is anything, so a hash of it.
     */
    static String volumeNode(String attachmentId) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(attachmentId.getBytes(StandardCharsets.UTF_8));
            return "v" + HexFormat.of().formatHex(d, 0, 15);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** The serial as a device property: its commas doubled, only printable ASCII kept. */
    private static String serial(GuestSpec.Volume v) {
        return v.serial().replaceAll("[^\\x21-\\x7e]", "").replace(",", ",,");
    }
}
