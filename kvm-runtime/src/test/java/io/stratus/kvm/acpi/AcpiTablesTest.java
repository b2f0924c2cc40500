package io.stratus.kvm.acpi;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AcpiTablesTest {
    private static final long BASE = 0xe0000;
    private static final AcpiPlatform PLATFORM = new AcpiPlatform(3, 3, 0x600, 0x601, 0xcf9, 6, 0x3f8, 4,
            List.of(new AcpiMmioDevice("LNRO0005", 0xd0000000L, 0x200, 5),
                    new AcpiMmioDevice("LNRO0005", 0xd0000200L, 0x200, 6)));

    private static ByteBuffer table(AcpiTables.Layout layout, long address) {
        ByteBuffer image = ByteBuffer.wrap(layout.image()).order(ByteOrder.LITTLE_ENDIAN);
        int offset = (int) (address - layout.base());
        int length = image.getInt(offset + 4);
        return image.slice(offset, length).order(ByteOrder.LITTLE_ENDIAN);
    }

    private static int sum(ByteBuffer b, int length) {
        int s = 0;
        for (int i = 0; i < length; i++) {
            s += b.get(i);
        }
        return s & 0xff;
    }

    private static String signature(ByteBuffer t) {
        byte[] sig = new byte[4];
        t.get(0, sig);
        return new String(sig, StandardCharsets.US_ASCII);
    }

    @Test
    void everyTableChecksumsToZero() {
        AcpiTables.Layout layout = AcpiTables.build(PLATFORM, BASE);
        ByteBuffer image = ByteBuffer.wrap(layout.image()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(sum(image.slice(0, 36), 20)).isZero();
        assertThat(sum(image.slice(0, 36), 36)).isZero();
        for (long address : new long[] {layout.xsdt(), layout.fadt(), layout.madt(), layout.dsdt()}) {
            ByteBuffer t = table(layout, address);
            assertThat(sum(t, t.limit())).as(signature(t)).isZero();
        }
    }

    @Test
    void rsdpLeadsThroughXsdtToFadtAndMadt() {
        AcpiTables.Layout layout = AcpiTables.build(PLATFORM, BASE);
        ByteBuffer rsdp = ByteBuffer.wrap(layout.image()).order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new String(layout.image(), 0, 8, StandardCharsets.US_ASCII)).isEqualTo("RSD PTR ");
        assertThat(rsdp.get(15)).isEqualTo((byte) 2);
        assertThat(rsdp.getLong(24)).isEqualTo(layout.xsdt());
        ByteBuffer xsdt = table(layout, layout.xsdt());
        assertThat(signature(xsdt)).isEqualTo("XSDT");
        assertThat(xsdt.getLong(36)).isEqualTo(layout.fadt());
        assertThat(xsdt.getLong(44)).isEqualTo(layout.madt());
    }

    @Test
    void fadtIsHardwareReducedWithSleepAndResetRegisters() {
        AcpiTables.Layout layout = AcpiTables.build(PLATFORM, BASE);
        ByteBuffer fadt = table(layout, layout.fadt());
        assertThat(signature(fadt)).isEqualTo("FACP");
        assertThat(fadt.limit()).isEqualTo(276);
        assertThat(fadt.getInt(112) & (1 << 20)).as("HW_REDUCED_ACPI").isNotZero();
        assertThat(fadt.getInt(112) & (1 << 10)).as("RESET_REG_SUP").isNotZero();
        assertThat(fadt.getLong(140)).as("X_DSDT").isEqualTo(layout.dsdt());
        assertThat(fadt.get(116)).as("reset register in system I/O space").isEqualTo((byte) 1);
        assertThat(fadt.getLong(120)).isEqualTo(0xcf9);
        assertThat(fadt.get(128)).isEqualTo((byte) 6);
        assertThat(fadt.getLong(248)).as("sleep control port").isEqualTo(0x600);
        assertThat(fadt.getLong(260)).as("sleep status port").isEqualTo(0x601);
    }

    @Test
    void madtListsEveryVcpuAndTheIoapic() {
        AcpiTables.Layout layout = AcpiTables.build(PLATFORM, BASE);
        ByteBuffer madt = table(layout, layout.madt());
        assertThat(signature(madt)).isEqualTo("APIC");
        assertThat(madt.getInt(36)).isEqualTo(0xfee00000);
        int offset = 44;
        int cpus = 0;
        int ioapics = 0;
        while (offset < madt.limit()) {
            int type = madt.get(offset);
            int length = madt.get(offset + 1);
            if (type == 0) {
                assertThat(madt.get(offset + 3)).as("APIC id").isEqualTo((byte) cpus);
                assertThat(madt.getInt(offset + 4)).as("enabled").isEqualTo(1);
                cpus++;
            } else if (type == 1) {
                assertThat(madt.getInt(offset + 4)).isEqualTo(0xfec00000);
                ioapics++;
            }
            offset += length;
        }
        assertThat(cpus).isEqualTo(3);
        assertThat(ioapics).isEqualTo(1);
    }

    @Test
    void dsdtDisassemblesWithIasl(@TempDir Path dir) throws IOException, InterruptedException {
        assumeTrue(Files.isExecutable(Path.of("/usr/bin/iasl")), "iasl (acpica-tools) is installed by bin/stratus test");
        AcpiTables.Layout layout = AcpiTables.build(PLATFORM, BASE);
        ByteBuffer dsdt = table(layout, layout.dsdt());
        byte[] raw = new byte[dsdt.limit()];
        dsdt.get(0, raw);
        Path file = dir.resolve("dsdt.dat");
        Files.write(file, raw);
        Process iasl = new ProcessBuilder("iasl", "-d", file.toString()).directory(dir.toFile())
                .redirectErrorStream(true).start();
        String log = new String(iasl.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(iasl.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(iasl.exitValue()).as(log).isZero();
        String dsl = Files.readString(dir.resolve("dsdt.dsl"));
        assertThat(dsl).contains("Device (COM1)", "EisaId (\"PNP0501\")", "IO (Decode16,", "IRQNoFlags ()",
                "Device (V000)", "Device (V001)", "Name (_HID, \"LNRO0005\")",
                "Memory32Fixed (ReadWrite,", "0xD0000200", "Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive",
                "Name (\\_S5, Package (0x04)");
        assertThat(log).doesNotContain("Error");
    }
}
