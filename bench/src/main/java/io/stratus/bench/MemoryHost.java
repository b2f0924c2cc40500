package io.stratus.bench;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.memory.GuestRegion;
import io.stratus.kvm.vm.VirtualMachine;
import io.stratus.kvm.vm.VmConfig;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Pattern;

/**
 * The process the memory benchmark measures: N idle guests in one JVM. Prints each guest RAM
 * mapping ({@code GUEST <start-hex> <bytes>}), then {@code READY}, and keeps the guests running
 * until stdin closes.
 *
 * <pre>java -cp ... io.stratus.bench.MemoryHost COUNT GUEST_ELF MEMORY_MIB</pre>
 */
public final class MemoryHost {
    private MemoryHost() {
    }

    public static void main(String[] args) throws IOException, InterruptedException {
        int count = Integer.parseInt(args[0]);
        Path kernel = Path.of(args[1]);
        int memoryMiB = Integer.parseInt(args[2]);
        List<VirtualMachine> vms = new ArrayList<>();
        // With COUNT 0 this is the baseline: the same JVM before any guest (or VMM class) is loaded.
        try {
            for (int i = 0; i < count; i++) {
                ConsoleBuffer console = new ConsoleBuffer(4096);
                VirtualMachine vm = VirtualMachine.create(VmConfig.builder(kernel).name("idle" + i)
                        .memoryMiB(memoryMiB).build(), console);
                vms.add(vm);
                vm.start();
                if (console.await(Pattern.compile("STRATUS-IDLE"), Duration.ofSeconds(60)).isEmpty()) {
                    System.out.println("FAILED guest " + i + " did not start: " + console.text());
                    return;
                }
                for (GuestRegion r : vm.memory().regions()) {
                    System.out.printf("GUEST %x %d%n", vm.memory().hostAddress(r), r.size());
                }
            }
            System.out.println("READY");
            System.out.flush();
            while (System.in.read() >= 0) {
                // Hold the guests until the benchmark has measured and closes our stdin.
            }
        } finally {
            for (VirtualMachine vm : vms) {
                vm.close();
            }
        }
    }
}
