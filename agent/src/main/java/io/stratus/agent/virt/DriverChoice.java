package io.stratus.agent.virt;

import io.stratus.agent.virt.kvm.KvmDriver;
import io.stratus.agent.virt.qemu.QemuDriver;
import java.nio.file.Path;
import java.util.OptionalLong;
import org.jboss.logging.Logger;

/**
 * Picks the host's driver from {@code stratus.agent.driver}: {@code kvm}, {@code qemu}, or
 * {@code auto} (the in-JVM VMM where /dev/kvm gives it what it needs, else QEMU where it is
 * installed). A host with neither gets a driver that only says why.
 */
public final class DriverChoice {
    private static final Logger LOG = Logger.getLogger(DriverChoice.class);

    /** What {@code stratus.agent.*} says about drivers. */
    public record Settings(String driver, Path kvmDevice, String qemuBinary, String qemuAccel,
                           OptionalLong entropyBytesPerSecond) {
    }

    private DriverChoice() {
    }

    public static HypervisorDriver choose(Settings s) {
        HypervisorDriver chosen = switch (s.driver()) {
            case "kvm" -> kvm(s);
            case "qemu" -> qemu(s);
            case "auto" -> {
                HypervisorDriver kvm = kvm(s);
                if (kvm.capabilities().unusable().isEmpty()) {
                    yield kvm;
                }
                HypervisorDriver q = qemu(s);
                yield q.capabilities().unusable().isPresent()
                        ? new UnavailableDriver("no hypervisor driver works on this host: "
                        + kvm.capabilities().unusable().get() + "; " + q.capabilities().unusable().get()) : q;
            }
            default -> throw new IllegalArgumentException("stratus.agent.driver is '" + s.driver()
                    + "'; give auto, kvm or qemu");
        };
        DriverCapabilities c = chosen.capabilities();
        if (c.unusable().isPresent()) {
            LOG.errorf("no hypervisor driver: %s; this host runs no guests and reports itself disabled",
                    c.unusable().get());
        } else {
            LOG.infof("hypervisor driver %s (%s %s), traits %s", c.name(), c.hypervisorType(), c.version(),
                    c.traits());
        }
        return chosen;
    }

    private static HypervisorDriver kvm(Settings s) {
        KvmDriver.Result k = KvmDriver.probe(s.kvmDevice(), s.entropyBytesPerSecond());
        return k.driver().map(HypervisorDriver.class::cast).orElseGet(() -> new UnavailableDriver(k.reason()));
    }

    private static HypervisorDriver qemu(Settings s) {
        QemuDriver.Result q = QemuDriver.probe(s.qemuBinary(), s.kvmDevice(), s.qemuAccel(),
                s.entropyBytesPerSecond());
        return q.driver().map(HypervisorDriver.class::cast).orElseGet(() -> new UnavailableDriver(q.reason()));
    }
}
