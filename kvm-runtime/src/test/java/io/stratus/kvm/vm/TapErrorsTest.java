package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.sys.NetworkNamespace;
import io.stratus.kvm.testing.RequiresKvm;
import io.stratus.kvm.testing.TestGuests;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Callable;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * TAPs that cannot be opened are clear errors at create time, and a running guest that holds a
 * TAP is untouched by another guest's failed attempt at it. In a network namespace the test makes.
 */
@Timeout(60)
@RequiresKvm
class TapErrorsTest {
    private final String ns = "stratus-tap-" + ProcessHandle.current().pid();
    private final ExecutorService inNamespace = Executors.newSingleThreadExecutor();

    @BeforeEach
    void namespace() throws Exception {
        ip("netns", "add", ns);
        inNamespace.submit(() -> NetworkNamespace.enter(ns)).get();
    }

    @AfterEach
    void removeNamespace() throws Exception {
        inNamespace.shutdownNow();
        ip("netns", "del", ns);
    }

    private static void ip(String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    private static VmConfig counter(String tap) {
        return VmConfig.builder(TestGuests.image("counter.elf")).name("tap-" + tap).memoryMiB(32).noBalloon()
                .net(NetConfig.of(tap)).build();
    }

    /** Runs {@code task} on the thread inside the namespace and unwraps its failure. */
    private <T> T inside(Callable<T> task) throws Exception {
        try {
            return inNamespace.submit(task).get();
        } catch (ExecutionException e) {
            throw (Exception) e.getCause();
        }
    }

    @Test
    void anInterfaceThatIsNotATapIsAClearError() {
        assertThatThrownBy(() -> inside(() -> VirtualMachine.create(counter("lo"), new ConsoleBuffer(1024))))
                .isInstanceOf(VmConfigException.class)
                .hasMessageContaining("cannot attach TAP lo")
                .hasMessageContaining("an interface of that name exists and is not a TAP");
    }

    @Test
    void aBadTapNameIsAClearError() {
        assertThatThrownBy(() -> inside(() -> VirtualMachine.create(counter("no/such tap"), new ConsoleBuffer(1024))))
                .isInstanceOf(VmConfigException.class)
                .hasMessageContaining("TAP name 'no/such tap' must be 1 to 15 letters");
    }

    @Test
    void aTapAnotherGuestHoldsIsRefusedAndThatGuestGoesOn() throws Exception {
        ConsoleBuffer console = new ConsoleBuffer(1 << 16);
        try (VirtualMachine first = inside(() -> VirtualMachine.create(counter("st0"), console))) {
            first.start();
            assertThat(console.await(Pattern.compile("COUNT 1\n"), Duration.ofSeconds(20))).isPresent();
            assertThatThrownBy(() -> inside(() -> VirtualMachine.create(counter("st0"), new ConsoleBuffer(1024))))
                    .isInstanceOf(VmConfigException.class)
                    .hasMessageContaining("cannot attach TAP st0")
                    .hasMessageContaining("another guest or process has it open");
            java.util.regex.Matcher counts = Pattern.compile("COUNT (\\d+)\n").matcher(console.text());
            long last = 0;
            while (counts.find()) {
                last = Long.parseLong(counts.group(1));
            }
            assertThat(console.await(Pattern.compile("COUNT " + (last + 2) + "\n"), Duration.ofSeconds(20)))
                    .as("the first guest keeps running").isPresent();
            assertThat(first.state()).isEqualTo(VirtualMachine.State.RUNNING);
        }
    }
}
