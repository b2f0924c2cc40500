package io.stratus.agent.virt.qemu;

import io.stratus.agent.virt.ConsoleOutput;
import io.stratus.agent.virt.DriverCapabilities.Traits;
import io.stratus.agent.virt.DriverCapabilities;
import io.stratus.agent.virt.GuestSpec;
import io.stratus.agent.virt.HypervisorDriver;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.IncomingGuest;
import io.stratus.agent.virt.MigrationLimits;
import io.stratus.agent.virt.MigrationOutcome;
import io.stratus.agent.virt.MigrationPipe;
import io.stratus.agent.virt.VirtualGuest;
import java.io.File;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.OptionalLong;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jboss.logging.Logger;

/**
 * Debian's {@code qemu-system-x86_64}, one process per guest: the microvm machine with the devices
 * the in-JVM VMM gives (virtio-mmio disks and NICs, virtio-rng, a 16550 console, ACPI power-off),
 * on KVM where /dev/kvm works and QEMU's own emulator (TCG) where it does not.
 */
public final class QemuDriver implements HypervisorDriver {
    private static final Logger LOG = Logger.getLogger(QemuDriver.class);
    private static final Pattern VERSION = Pattern.compile("QEMU emulator version (\\d+\\.\\d+(\\.\\d+)?)");
    private static final long START_WAIT_SECONDS = 60;
    /** The in-JVM VMM's limit, so that a flavor fits either driver (microvm takes up to 288). */
    private static final int MAX_VCPUS = 254;
    private static final long MIN_MEMORY_MIB = 16;
    /** How much of a guest's earlier console output a restarted agent shows again. */
    private static final int CONSOLE_REPLAY_BYTES = 256 << 10;

    /** How guests run: on KVM, or emulated by TCG. */
    public enum Accel {
        KVM, TCG
    }

    private final Path binary;
    private final Accel accel;
    private final OptionalLong entropyBytesPerSecond;
    private final DriverCapabilities capabilities;

    private QemuDriver(Path binary, String version, Accel accel, OptionalLong entropyBytesPerSecond) {
        this.binary = binary;
        this.accel = accel;
        this.entropyBytesPerSecond = entropyBytesPerSecond;
        Set<String> traits = new HashSet<>(Set.of(Traits.DRIVER_QEMU, Traits.LIVE_MIGRATION, Traits.COLD_MIGRATION,
                Traits.VOLUME_ATTACH, Traits.LIVE_MIGRATION_VOLUMES));
        if (accel == Accel.TCG) {
            traits.add(Traits.SOFTWARE_EMULATION);
        }
        // As Nova's libvirt driver says it: QEMU on KVM is "KVM", QEMU emulating is "QEMU".
        this.capabilities = new DriverCapabilities("qemu", accel == Accel.KVM ? "KVM" : "QEMU", version, traits,
                MAX_VCPUS, MIN_MEMORY_MIB, true, Optional.empty());
    }

    /**
     * The driver, or why it cannot run here (QEMU is not installed, or does not start).
     *
     * @param binary    the QEMU program, a path or a name looked up on PATH
     * @param kvmDevice the KVM device: used when it opens, unless {@code accel} says otherwise
     * @param accel     {@code auto}, {@code kvm} or {@code tcg}
     * @param entropyBytesPerSecond the entropy device's rate limit; empty: none
     */
    public static Result probe(String binary, Path kvmDevice, String accel, OptionalLong entropyBytesPerSecond) {
        Optional<Path> found = find(binary);
        if (found.isEmpty()) {
            return new Result(Optional.empty(), binary + " is not installed (Debian: apt-get install qemu-system-x86)");
        }
        String version;
        try {
            Process p = new ProcessBuilder(found.get().toString(), "--version").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.SECONDS) || p.exitValue() != 0) {
                return new Result(Optional.empty(), found.get() + " --version failed: " + out.strip());
            }
            Matcher m = VERSION.matcher(out);
            version = m.find() ? m.group(1) : "";
        } catch (IOException e) {
            return new Result(Optional.empty(), "cannot run " + found.get() + ": " + e.getMessage());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Result(Optional.empty(), "interrupted while asking " + found.get() + " its version");
        }
        Accel chosen = switch (accel) {
            case "kvm" -> Accel.KVM;
            case "tcg" -> Accel.TCG;
            case "auto" -> opens(kvmDevice) ? Accel.KVM : Accel.TCG;
            default -> throw new IllegalArgumentException("stratus.agent.qemu.accel is '" + accel
                    + "'; give auto, kvm or tcg");
        };
        if (chosen == Accel.KVM && !opens(kvmDevice)) {
            return new Result(Optional.empty(), "QEMU is to use KVM, but " + kvmDevice + " does not open");
        }
        return new Result(Optional.of(new QemuDriver(found.get(), version, chosen, entropyBytesPerSecond)), "");
    }

    /** A probe's outcome: the driver, or the reason there is none. */
    public record Result(Optional<QemuDriver> driver, String reason) {
    }

    private static Optional<Path> find(String binary) {
        if (binary.contains("/")) {
            Path p = Path.of(binary);
            return Files.isExecutable(p) ? Optional.of(p) : Optional.empty();
        }
        for (String dir : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(File.pathSeparator)) {
            Path p = Path.of(dir, binary);
            if (Files.isExecutable(p)) {
                return Optional.of(p);
            }
        }
        return Optional.empty();
    }

    private static boolean opens(Path device) {
        try (FileChannel c = FileChannel.open(device, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    @Override
    public DriverCapabilities capabilities() {
        return capabilities;
    }

    public Accel accel() {
        return accel;
    }

    /**
     * {@code qemu-img convert} of the disk (beside the QEMU program, else on PATH), with
     * {@code -U}: the running QEMU holds the disk's locks. The guest is paused over QMP first;
     * QEMU's {@code stop} drains and flushes the disks, so the file is one moment of the disk.
     */
    @Override
    public void exportDisk(Optional<VirtualGuest> running, GuestSpec.Disk disk, Path target)
            throws IOException, InterruptedException {
        boolean pausedHere = false;
        if (running.isPresent() && !running.get().paused()) {
            running.get().pause();
            pausedHere = true;
        }
        try {
            Path sibling = binary.resolveSibling("qemu-img");
            String qemuImg = Files.isExecutable(sibling) ? sibling.toString() : find("qemu-img").map(Path::toString)
                    .orElseThrow(() -> new HypervisorException("HypervisorError", "qemu-img is not installed"
                            + " (Debian: apt-get install qemu-utils)"));
            List<String> command = List.of(qemuImg, "convert", "-U", "-f",
                    disk.format() == GuestSpec.Format.QCOW2 ? "qcow2" : "raw", "-O", "raw", disk.path().toString(),
                    target.toString());
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(30, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new HypervisorException("HypervisorError", "qemu-img convert of " + disk.path()
                        + " did not end within 30 minutes");
            }
            if (p.exitValue() != 0) {
                throw new HypervisorException("HypervisorError", "qemu-img convert of " + disk.path()
                        + " failed: " + out.strip());
            }
        } finally {
            if (pausedHere) {
                running.get().resume();
            }
        }
    }

    @Override
    public VirtualGuest spawn(GuestSpec spec, ConsoleOutput console) {
        QemuGuest guest = start(spec, console, false);
        try {
            guest.cont();
        } catch (RuntimeException e) {
            guest.stop();
            throw e;
        }
        return guest;
    }

    /**
     * The QEMU process of {@code spec} as {@link #spawn} starts it, with {@code -incoming defer}: it
     * waits for the source's stream, which {@link QemuIncoming#receive} passes in.
     */
    @Override
    public IncomingGuest incoming(GuestSpec spec, ConsoleOutput console) {
        return new QemuIncoming(spec.instanceId(), QemuRun.of(spec.instanceDir()), start(spec, console, true));
    }

    @Override
    public MigrationOutcome migrate(VirtualGuest guest, MigrationPipe pipe, MigrationLimits limits)
            throws InterruptedException {
        if (!(guest instanceof QemuGuest q)) {
            throw new HypervisorException("NotSupported", "the qemu driver sends only its own guests");
        }
        return new QemuMigrationSource(q, accel == Accel.TCG).send(pipe, limits);
    }

    /** Starts the guest's QEMU process, the machine built and not running, and attaches to it. */
    private QemuGuest start(GuestSpec spec, ConsoleOutput console, boolean incoming) {
        QemuRun run = QemuRun.of(spec.instanceDir());
        try {
            run.prepare();
            VolumeSlots.prepare(spec, run);
            List<String> command = command(spec, run, incoming);
            Files.writeString(run.log(), QemuRun.COMMAND_MARK + Instant.now() + " " + String.join(" ", command)
                    + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
            // QEMU daemonizes once the machine is built (kernel and initrd read, disks open): its first
            // process exits then, with the error on its log when the build failed.
            Process p = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(run.log().toFile())).start();
            if (!p.waitFor(START_WAIT_SECONDS, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new HypervisorException("HypervisorError", "QEMU did not start instance " + spec.instanceId()
                        + " within " + START_WAIT_SECONDS + " s");
            }
            if (p.exitValue() != 0) {
                String log = run.logTail();
                run.clean();
                throw new HypervisorException(faultCode(log), "QEMU cannot start instance " + spec.instanceId()
                        + ": " + log);
            }
            return QemuGuest.attach(spec.instanceId(), run, readPid(run), spec.memoryMiB() << 20, console, 0);
        } catch (IOException e) {
            throw new HypervisorException("HypervisorError", "cannot run QEMU for instance " + spec.instanceId()
                    + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new HypervisorException("HypervisorError", "interrupted while starting instance "
                    + spec.instanceId(), e);
        }
    }

    /** QEMU's start-up errors, told apart well enough for the user's fault code. */
    static String faultCode(String log) {
        String l = log.toLowerCase(Locale.ROOT);
        if (l.contains("-kernel") || l.contains("-initrd") || l.contains("linux kernel")
                || l.contains("could not load")) {
            return "ImageNotBootable";
        }
        if (l.contains("-drive") || l.contains("image") || l.contains("lock")) {
            return "DiskUnusable";
        }
        return "HypervisorError";
    }

    private static long readPid(QemuRun run) throws IOException {
        try {
            return Long.parseLong(Files.readString(run.pidFile()).strip());
        } catch (NumberFormatException e) {
            throw new IOException("QEMU's pid file " + run.pidFile() + " holds no pid", e);
        }
    }

    /**
     * The command line of {@code spec}'s guest: one spec gives one machine, which a migration needs
     * at both ends; an {@code incoming} one waits for QMP {@code migrate-incoming}.
     */
    List<String> command(GuestSpec spec, QemuRun run, boolean incoming) {
        List<String> c = new ArrayList<>(List.of(binary.toString(), "-name", spec.instanceId(),
                "-M", "microvm,acpi=on", "-nodefaults", "-no-user-config", "-display", "none", "-no-reboot", "-S",
                // Virtio 1.x transports (QEMU's default is the legacy one), as the in-JVM VMM gives.
                "-global", "virtio-mmio.force-legacy=false",
                "-daemonize", "-pidfile", run.pidFile().toString(),
                "-smp", Integer.toString(spec.vcpus()), "-m", spec.memoryMiB() + "M"));
        if (accel == Accel.KVM) {
            c.addAll(List.of("-accel", "kvm", "-cpu", "host"));
        } else {
            // One thread for all vCPUs: multi-threaded TCG hung a 2-vCPU Linux at TSC calibration here.
            c.addAll(List.of("-accel", "tcg,thread=single", "-cpu", "max"));
        }
        c.addAll(List.of("-kernel", spec.kernel().toString()));
        spec.initrd().ifPresent(i -> c.addAll(List.of("-initrd", i.toString())));
        String cmdline = spec.cmdline().contains("console=") ? spec.cmdline()
                : (spec.cmdline() + " console=ttyS0").strip();
        if (accel == Accel.TCG && !cmdline.contains("tsc_early_khz=")) {
            // Under TCG the guest's TSC runs at the host's rate. Linux calibrating it against the emulated
            // PIT fails when the host is busy, and then stalls calibrating its delay loop: it is told instead.
            cmdline += hostTscKhz().map(khz -> " tsc_early_khz=" + khz).orElse("");
        }
        c.addAll(List.of("-append", cmdline));
        c.addAll(List.of("-chardev", "socket,id=console,path=" + run.consoleSocket() + ",server=on,wait=off,logfile="
                        + option(run.consoleLog().toString()) + ",logappend=on",
                "-serial", "chardev:console",
                "-qmp", "unix:" + run.monitorSocket() + ",server=on,wait=off"));
        // A boot volume is the first disk (vda); the volume slots come after the other disks.
        c.addAll(VolumeSlots.bootDisk(spec));
        int i = 0;
        for (GuestSpec.Disk d : spec.disks()) {
            String id = "disk" + i++;
            c.addAll(List.of("-drive", "id=" + id + ",if=none,file=" + option(d.path().toString()) + ",format="
                    + (d.format() == GuestSpec.Format.QCOW2 ? "qcow2" : "raw") + (d.readOnly() ? ",readonly=on" : "")
                    + ",cache=none,aio=threads", "-device", "virtio-blk-device,drive=" + id));
        }
        c.addAll(VolumeSlots.slots(spec, run));
        i = 0;
        for (GuestSpec.Nic n : spec.nics()) {
            String id = "net" + i++;
            c.addAll(List.of("-netdev", "tap,id=" + id + ",ifname=" + n.tap() + ",script=no,downscript=no",
                    "-device", "virtio-net-device,netdev=" + id + (n.mac().isEmpty() ? "" : ",mac=" + n.mac())));
        }
        if (spec.entropy()) {
            c.addAll(List.of("-object", "rng-random,id=rng0,filename=/dev/urandom", "-device", "virtio-rng-device,rng=rng0"
                    + (entropyBytesPerSecond.isPresent() ? ",max-bytes=" + entropyBytesPerSecond.getAsLong()
                    + ",period=1000" : "")));
        }
        if (spec.watchdog()) {
            // QEMU's IB700 (an ISA device: microvm has the ISA bus), which Linux's ib700wdt drives. QEMU
            // itself does nothing when it fires and tells QMP (event WATCHDOG): the agent acts and reports.
            c.addAll(List.of("-device", "ib700", "-action", "watchdog=none"));
        }
        if (incoming) {
            c.addAll(List.of("-incoming", "defer"));
        }
        return c;
    }

    /** The host's TSC rate: /proc/cpuinfo's clock of a CPU with a constant TSC. */
    static Optional<Long> hostTscKhz() {
        try {
            List<String> lines = Files.readAllLines(Path.of("/proc/cpuinfo"));
            if (lines.stream().noneMatch(l -> l.startsWith("flags") && l.contains(" constant_tsc"))) {
                return Optional.empty();
            }
            return lines.stream().filter(l -> l.startsWith("cpu MHz")).findFirst()
                    .map(l -> Math.round(Double.parseDouble(l.substring(l.indexOf(':') + 1).strip()) * 1000));
        } catch (IOException | RuntimeException e) {
            return Optional.empty();
        }
    }

    /** A value inside a QEMU option list: commas are doubled. */
    private static String option(String value) {
        return value.replace(",", ",,");
    }

    @Override
    public VirtualGuest restore(String instanceId, Path snapshotDir, ConsoleOutput console, boolean paused) {
        throw new HypervisorException("SnapshotUnusable", "the QEMU driver keeps guests running across agent"
                + " restarts instead of saving them");
    }

    @Override
    public Optional<VirtualGuest> reattach(String instanceId, Path instanceDir, long memoryMiB,
                                           ConsoleOutput console) {
        QemuRun run = QemuRun.of(instanceDir);
        if (!Files.exists(run.pidFile())) {
            return Optional.empty();
        }
        try {
            long pid = readPid(run);
            Optional<ProcessHandle> p = ProcessHandle.of(pid).filter(h -> runs(h, run));
            if (p.isEmpty()) {
                run.clean();
                return Optional.empty();
            }
            QemuGuest guest = QemuGuest.attach(instanceId, run, pid, memoryMiB << 20, console, CONSOLE_REPLAY_BYTES);
            if (guest.neverStarted()) {
                // The agent ended between building the machine and letting it run.
                guest.cont();
            }
            return Optional.of(guest);
        } catch (IOException e) {
            LOG.warnf("instance %s: its QEMU process cannot be reached again (%s)", instanceId,
                    e.getMessage());
            return Optional.empty();
        }
    }

    /** Whether {@code process} is the QEMU of this run (a pid may have been reused since). */
    static boolean runs(ProcessHandle process, QemuRun run) {
        return process.info().arguments().map(a -> List.of(a).contains(run.pidFile().toString())).orElse(false);
    }
}
