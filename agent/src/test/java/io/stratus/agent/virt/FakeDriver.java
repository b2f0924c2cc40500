package io.stratus.agent.virt;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Queue;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A hypervisor driver for unit tests, after Nova's {@code nova/virt/fake.py}: its guests are plain
 * objects that record what the agent asks of them (pause, resume, stop) and run nothing. A test
 * sets the capabilities, makes the next spawn fail with a {@link HypervisorException}, and makes a
 * running guest end on its own ({@link FakeGuest#exit}) so that {@link VirtualGuest#awaitExit}
 * returns as it does when a real guest powers off, resets or crashes.
 */
public final class FakeDriver implements HypervisorDriver {
    /** The file a spawned guest leaves in its instance directory. */
    public static final String GUEST_FILE = "fake-guest";

    private volatile DriverCapabilities capabilities = usable(8, 64);
    private final Queue<HypervisorException> failures = new ConcurrentLinkedQueue<>();
    private final List<FakeGuest> spawned = new CopyOnWriteArrayList<>();
    private final Queue<HypervisorException> exportFailures = new ConcurrentLinkedQueue<>();
    private final List<Boolean> exportsWhilePaused = new CopyOnWriteArrayList<>();
    private final Queue<HypervisorException> attachFailures = new ConcurrentLinkedQueue<>();

    /** What a working fake host offers: guests of 1 to {@code maxVcpus} vCPUs and at least {@code minMemoryMiB}. */
    public static DriverCapabilities usable(int maxVcpus, long minMemoryMiB) {
        return new DriverCapabilities("fake", "fake", "1.0", Set.of(), maxVcpus, minMemoryMiB, false,
                Optional.empty());
    }

    @Override
    public DriverCapabilities capabilities() {
        return capabilities;
    }

    public void capabilities(DriverCapabilities value) {
        this.capabilities = value;
    }

    /** From now on the host runs nothing, as a host without a working driver: spawns fail with the reason. */
    public void makeUnusable(String reason) {
        this.capabilities = new DriverCapabilities("none", "", "", Set.of(), 0, 0, false, Optional.of(reason));
    }

    /** The next spawn (or restore) throws a {@link HypervisorException} with {@code code}; later ones work. */
    public void failNextSpawn(String code, String message) {
        failures.add(new HypervisorException(code, message));
    }

    @Override
    public VirtualGuest spawn(GuestSpec spec, ConsoleOutput console) {
        checkUsable();
        try {
            // As QEMU's driver keeps its pid file and sockets there: what a delete must clean up.
            Files.createDirectories(spec.instanceDir());
            Files.writeString(spec.instanceDir().resolve(GUEST_FILE), spec.instanceId());
        } catch (IOException e) {
            throw new HypervisorException("HypervisorError", "cannot write to " + spec.instanceDir(), e);
        }
        FakeGuest guest = new FakeGuest(spec.instanceId(), Optional.of(spec), false, attachFailures);
        spec.slotVolumes().forEach(v -> guest.volumes.put(v.attachmentId(), v));
        spawned.add(guest);
        return guest;
    }

    @Override
    public VirtualGuest restore(String instanceId, Path snapshotDir, ConsoleOutput console, boolean paused) {
        checkUsable();
        FakeGuest guest = new FakeGuest(instanceId, Optional.empty(), paused, attachFailures);
        spawned.add(guest);
        return guest;
    }

    @Override
    public Optional<VirtualGuest> reattach(String instanceId, Path instanceDir, long memoryMiB,
                                           ConsoleOutput console) {
        // Fake guests live in the test's JVM: none outlives an agent.
        return Optional.empty();
    }

    private void checkUsable() {
        Optional<String> unusable = capabilities.unusable();
        if (unusable.isPresent()) {
            throw new HypervisorException("HypervisorUnavailable", unusable.get());
        }
        HypervisorException failure = failures.poll();
        if (failure != null) {
            throw failure;
        }
    }

    /**
     * Writes what a fake export holds: the disk's file name and format (the disk itself is a real
     * qcow2 layer, which the fake does not read). A running guest is paused around it, as the
     * drivers do.
     */
    @Override
    public void exportDisk(Optional<VirtualGuest> running, GuestSpec.Disk disk, Path target)
            throws IOException, InterruptedException {
        HypervisorException failure = exportFailures.poll();
        if (failure != null) {
            throw failure;
        }
        boolean pausedHere = running.isPresent() && !running.get().paused();
        if (pausedHere) {
            running.get().pause();
        }
        try {
            exportsWhilePaused.add(running.map(VirtualGuest::paused).orElse(false));
            Files.writeString(target, exportOf(disk.path(), disk.format()));
        } finally {
            if (pausedHere) {
                running.get().resume();
            }
        }
    }

    /** What {@link #exportDisk} writes for a disk. */
    public static String exportOf(Path disk, GuestSpec.Format format) {
        return "export of " + disk.getFileName() + " (" + format + ")";
    }

    /** The next export throws a {@link HypervisorException} with {@code code}. */
    public void failNextExport(String code, String message) {
        exportFailures.add(new HypervisorException(code, message));
    }

    /** For each export so far: whether a guest ran and was paused while it was taken. */
    public List<Boolean> exportsWhilePaused() {
        return List.copyOf(exportsWhilePaused);
    }

    /** Every guest this driver made, oldest first (spawned or restored). */
    public List<FakeGuest> guests() {
        return List.copyOf(spawned);
    }

    /** The guests made for {@code instanceId}, oldest first. */
    public List<FakeGuest> guests(String instanceId) {
        return spawned.stream().filter(g -> g.instanceId().equals(instanceId)).toList();
    }

    /** The instance's newest guest. */
    public FakeGuest lastGuest(String instanceId) {
        List<FakeGuest> all = guests(instanceId);
        if (all.isEmpty()) {
            throw new AssertionError("no guest was spawned for instance " + instanceId);
        }
        return all.get(all.size() - 1);
    }

    /** The next volume attach of any guest throws a {@link HypervisorException} with {@code code}. */
    public void failNextAttach(String code, String message) {
        attachFailures.add(new HypervisorException(code, message));
    }

    /** A guest that runs nothing: it remembers what it was asked and ends when told to. */
    public static final class FakeGuest implements VirtualGuest {
        private final String instanceId;
        private final Optional<GuestSpec> spec;
        private final CompletableFuture<GuestExit> exit = new CompletableFuture<>();
        private final AtomicInteger pauses = new AtomicInteger();
        private final AtomicInteger resumes = new AtomicInteger();
        private final AtomicInteger stops = new AtomicInteger();
        private final Map<String, GuestSpec.Volume> volumes = new ConcurrentHashMap<>();
        private final AtomicInteger attaches = new AtomicInteger();
        private final AtomicInteger detaches = new AtomicInteger();
        private final Queue<HypervisorException> attachFailures;
        private volatile boolean paused;
        private final ByteArrayOutputStream typed = new ByteArrayOutputStream();
        private volatile Runnable watchdog = () -> {
            throw new AssertionError("the watchdog fired before the host listened");
        };

        FakeGuest(String instanceId, Optional<GuestSpec> spec, boolean paused,
                  Queue<HypervisorException> attachFailures) {
            this.instanceId = instanceId;
            this.spec = spec;
            this.paused = paused;
            this.attachFailures = attachFailures;
        }

        /** The volumes in its slots now, by attachment id. */
        public Map<String, GuestSpec.Volume> volumes() {
            return Map.copyOf(volumes);
        }

        /** How often a volume was put into a slot (a repeated attach of one it has does not count). */
        public int attaches() {
            return attaches.get();
        }

        /** How often a slot was emptied. */
        public int detaches() {
            return detaches.get();
        }

        @Override
        public void attachVolume(GuestSpec.Volume volume) {
            requireRunning("attach a volume to");
            HypervisorException failure = attachFailures.poll();
            if (failure != null) {
                throw failure;
            }
            if (volumes.containsKey(volume.attachmentId())) {
                return;
            }
            if (volumes.size() >= spec.map(GuestSpec::volumeSlots).orElse(0)) {
                throw new HypervisorException("NoFreeDiskSlot", "no empty slot");
            }
            volumes.put(volume.attachmentId(), volume);
            attaches.incrementAndGet();
        }

        @Override
        public void detachVolume(String attachmentId) {
            requireRunning("detach a volume from");
            if (volumes.remove(attachmentId) != null) {
                detaches.incrementAndGet();
            }
        }

        public String instanceId() {
            return instanceId;
        }

        /** The spec it was spawned with; empty for a restored guest. */
        public Optional<GuestSpec> spec() {
            return spec;
        }

        /** The guest ends on its own, as a real one does when it powers off, resets or crashes. */
        public void exit(GuestExit.Reason reason, String detail) {
            exit.complete(new GuestExit(reason, detail));
        }

        /** Its watchdog fires, as a real one does when the guest stopped feeding it. */
        public void fireWatchdog() {
            watchdog.run();
        }

        @Override
        public void onWatchdog(Runnable listener) {
            this.watchdog = listener;
        }

        /** Whether its run has not ended (neither stopped by the host nor ended on its own). */
        public boolean running() {
            return !exit.isDone();
        }

        public int pauses() {
            return pauses.get();
        }

        public int resumes() {
            return resumes.get();
        }

        /** How often the host asked it to stop (the supervisor also stops a guest that ended on its own). */
        public int stops() {
            return stops.get();
        }

        @Override
        public void pause() {
            requireRunning("pause");
            pauses.incrementAndGet();
            paused = true;
        }

        @Override
        public void resume() {
            requireRunning("resume");
            resumes.incrementAndGet();
            paused = false;
        }

        private void requireRunning(String what) {
            if (!running()) {
                throw new HypervisorException("HypervisorError", "cannot " + what + " the guest of instance "
                        + instanceId + ": its run ended");
            }
        }

        /** Everything typed into its serial console, in order. */
        public synchronized byte[] typed() {
            return typed.toByteArray();
        }

        @Override
        public synchronized int consoleInput(byte[] bytes, int offset, int length) {
            requireRunning("type into");
            typed.write(bytes, offset, length);
            return length;
        }

        @Override
        public boolean paused() {
            return paused;
        }

        @Override
        public void stop() {
            stops.incrementAndGet();
            exit.complete(new GuestExit(GuestExit.Reason.STOPPED, "stopped by the host"));
        }

        @Override
        public void detach() {
            stop();
        }

        @Override
        public GuestExit awaitExit() throws InterruptedException {
            try {
                return exit.get();
            } catch (ExecutionException e) {
                throw new IllegalStateException(e.getCause());
            }
        }

        @Override
        public GuestUsage usage() {
            return GuestUsage.NONE;
        }

        @Override
        public Optional<MemoryFootprint> footprint() {
            return Optional.empty();
        }

        @Override
        public boolean entropyDevice() {
            return true;
        }

        @Override
        public void snapshot(Path dir) throws IOException {
            requireRunning("snapshot");
            Files.createDirectories(dir);
            Files.writeString(dir.resolve(GUEST_FILE), instanceId);
        }
    }
}
