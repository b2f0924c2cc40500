package io.stratus.kvm.vm;

import io.stratus.kvm.acpi.AcpiMmioDevice;
import io.stratus.kvm.acpi.AcpiPlatform;
import io.stratus.kvm.acpi.AcpiTables;
import io.stratus.kvm.boot.BootLayout;
import io.stratus.kvm.boot.E820Entry;
import io.stratus.kvm.boot.EntryState;
import io.stratus.kvm.boot.InitrdLoader;
import io.stratus.kvm.boot.InitrdRange;
import io.stratus.kvm.boot.KernelCmdline;
import io.stratus.kvm.boot.KernelLoader;
import io.stratus.kvm.boot.LinuxBootParams;
import io.stratus.kvm.boot.LoadedKernel;
import io.stratus.kvm.boot.MemoryMap;
import io.stratus.kvm.boot.MpTable;
import io.stratus.kvm.boot.PvhStartInfo;
import io.stratus.kvm.cpu.CpuidSetup;
import io.stratus.kvm.cpu.HostProfile;
import io.stratus.kvm.cpu.MsrSetup;
import io.stratus.kvm.cpu.VcpuSetup;
import io.stratus.kvm.devices.AcpiPowerControl;
import io.stratus.kvm.devices.ConsoleSink;
import io.stratus.kvm.devices.Serial8250;
import io.stratus.kvm.memory.GuestAddress;
import io.stratus.kvm.memory.GuestMemory;
import io.stratus.kvm.sys.CpuidEntry;
import io.stratus.kvm.sys.Kvm;
import io.stratus.kvm.sys.KvmCapability;
import io.stratus.kvm.sys.MsrEntry;
import io.stratus.kvm.sys.VcpuFd;
import io.stratus.kvm.sys.VmFd;
import io.stratus.kvm.vcpu.Vcpu;
import io.stratus.kvm.virtio.VirtioMmioTransport;
import io.stratus.kvm.virtio.block.BlockBackend;
import io.stratus.kvm.virtio.block.DiskImage;
import io.stratus.kvm.virtio.block.DiskImageException;
import io.stratus.kvm.virtio.block.NbdDisk;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.OptionalLong;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * Builds a {@link VirtualMachine} from parts, in one recipe (Firecracker's {@code builder.rs}
 * {@code build_microvm_for_boot}): the host checks, KVM and the VM with its irqchip and PIT,
 * guest memory and its slots, the {@link DeviceManager} with one {@code attach…} per device, the
 * vCPUs (x86 set-up in {@link VcpuSetup}), then a last step that either loads a kernel and writes
 * the boot structures ({@link #loadAndEnter}) or puts a snapshot's state back. Nothing runs until
 * {@link VirtualMachine#start()}. A step that fails frees what the steps before it made.
 */
final class VmBuilder {
    private static final System.Logger LOG = System.getLogger(VirtualMachine.class.getName());
    private static final String VIRTIO_MMIO_HID = "LNRO0005";

    private VmBuilder() {
    }

    /** The KVM objects, memory, devices and vCPUs every VM has; {@code finish} then loads a kernel or a snapshot. */
    static VirtualMachine assemble(VmConfig config, ConsoleSink console, Function<VmConfig, GuestMemory> memoryFactory,
                                   Consumer<VirtualMachine> finish) {
        checkHostMemory(config);
        HostProfile host = HostProfile.detect();
        List<BlockBackend> disks = openDisks(config);
        Kvm kvm;
        try {
            kvm = Kvm.open();
        } catch (RuntimeException e) {
            disks.forEach(BlockBackend::close);
            throw e;
        }
        VmFd vmFd = null;
        GuestMemory memory = null;
        VirtualMachine vm = null;
        try {
            kvm.requireVmmCapabilities();
            int maxVcpus = kvm.checkExtension(KvmCapability.MAX_VCPUS);
            if (maxVcpus > 0 && config.vcpus() > maxVcpus) {
                throw new VmConfigException("this host's KVM runs at most " + maxVcpus + " vCPUs per guest, not "
                        + config.vcpus());
            }
            vmFd = kvm.createVm();
            // Intel hosts need these two ranges for real-mode emulation; they sit just below the BIOS.
            vmFd.setTssAddress(BootLayout.KVM_TSS);
            if (kvm.checkExtension(KvmCapability.SET_IDENTITY_MAP_ADDR) > 0) {
                vmFd.setIdentityMapAddress(BootLayout.KVM_IDENTITY_MAP);
            }
            vmFd.createIrqchip();
            vmFd.createPit2(VmFd.PIT_SPEAKER_DUMMY);

            memory = memoryFactory.apply(config);
            DeviceManager devices = new DeviceManager(config, vmFd, memory, disks);
            vm = new VirtualMachine(config, host, kvm, vmFd, memory, devices);
            vm.memorySlots().register(0);
            devices.attachPlatformDevices(console, vm.powerEvents(), vm::watchdogExpired);
            devices.attachBlockDevices();
            devices.attachNetDevices();
            devices.attachBalloon();
            devices.attachVolumeSlots();
            devices.attachEntropy();
            createVcpus(vm, kvm, vmFd, memory, devices, host);
            finish.accept(vm);
            return vm;
        } catch (RuntimeException e) {
            if (vm != null) {
                vm.release();
            } else {
                if (memory != null) {
                    memory.close();
                }
                if (vmFd != null) {
                    vmFd.close();
                }
                kvm.close();
                disks.forEach(BlockBackend::close);
            }
            if (e instanceof IllegalArgumentException) {
                throw new VmConfigException(e.getMessage());
            }
            throw e;
        }
    }

    /** Creates and configures every vCPU. */
    private static void createVcpus(VirtualMachine vm, Kvm kvm, VmFd vmFd, GuestMemory memory, DeviceManager devices,
                                    HostProfile host) {
        VmConfig config = vm.config();
        List<CpuidEntry> supported = kvm.supportedCpuid();
        boolean tscDeadline = kvm.checkExtension(KvmCapability.TSC_DEADLINE_TIMER) > 0;
        List<MsrEntry> msrs = MsrSetup.bootMsrs(kvm.msrIndexList());
        for (int id = 0; id < config.vcpus(); id++) {
            VcpuFd fd = vmFd.createVcpu(id);
            vm.vcpuFds().add(fd);
            VcpuSetup.configure(fd, CpuidSetup.forVcpu(supported, id, config.vcpus(), tscDeadline, host), msrs);
            vm.vcpus().add(new Vcpu(fd, devices.pio(), devices.mmio(), memory, vm.vcpuListener(), host, config.name(),
                    vm.gate()));
        }
    }

    /** Loads the kernel and initrd, writes the boot structures and tables, and sets the boot vCPU at the entry. */
    static void loadAndEnter(VirtualMachine vm) {
        VmConfig config = vm.config();
        GuestMemory memory = vm.memory();
        List<MmioSlot> slots = vm.devices().slots();
        LoadedKernel kernel = KernelLoader.load(config.kernel(), memory);
        InitrdRange initrd = config.initrd().isPresent()
                ? InitrdLoader.load(config.initrd().get(), memory, kernel) : null;
        KernelCmdline cmdline = buildCmdline(config, kernel, vm.host(), slots);
        vm.setEffectiveCmdline(cmdline.toString());
        GuestAddress cmdlineAt = GuestAddress.of(BootLayout.CMDLINE);
        memory.write(cmdlineAt, cmdline.toBytes());

        AcpiPlatform platform = new AcpiPlatform(config.vcpus(), MpTable.ioapicId(config.vcpus()),
                AcpiPowerControl.SLEEP_CONTROL_PORT, AcpiPowerControl.SLEEP_STATUS_PORT,
                AcpiPowerControl.RESET_PORT, AcpiPowerControl.RESET_VALUE, Serial8250.COM1_PORT,
                Serial8250.COM1_IRQ, slots.stream()
                        .map(s -> new AcpiMmioDevice(VIRTIO_MMIO_HID, s.base(), VirtioMmioTransport.WINDOW_SIZE, s.gsi()))
                        .toList());
        AcpiTables.Layout acpi = AcpiTables.write(memory, platform, BootLayout.ACPI_TABLES, BootLayout.ACPI_TABLES_END);
        MpTable.write(memory, config.vcpus());
        List<E820Entry> e820 = MemoryMap.of(memory);
        GuestAddress rsdp = GuestAddress.of(acpi.rsdp());

        VcpuFd bsp = vm.vcpuFds().get(0);
        EntryState.Registers boot;
        if (kernel.protocol() == LoadedKernel.BootProtocol.PVH) {
            GuestAddress startInfo = PvhStartInfo.write(memory, e820, cmdlineAt, initrd, rsdp);
            boot = EntryState.pvh(memory, bsp.getSregs(), kernel.entry(), startInfo);
        } else {
            byte[] zeroPage = LinuxBootParams.build(kernel.setupHeader(), e820, cmdlineAt, initrd, rsdp);
            GuestAddress bootParams = LinuxBootParams.write(memory, zeroPage);
            boot = EntryState.linux64(memory, bsp.getSregs(), kernel.entry(), bootParams);
        }
        bsp.setSregs(boot.sregs());
        bsp.setRegs(boot.regs());
        LOG.log(Level.DEBUG, "{0}: {1} kernel {2} entered at {3}, cmdline \"{4}\"", config.name(),
                kernel.protocol(), config.kernel(), kernel.entry(), cmdline);
    }

    private static void checkHostMemory(VmConfig config) {
        OptionalLong available = HostResources.availableMemory();
        if (available.isPresent() && config.memoryBytes() > available.getAsLong()) {
            throw new VmConfigException("guest memory of " + VmConfig.describeBytes(config.memoryBytes())
                    + " is more than this host can give (" + (available.getAsLong() >> 20) + " MiB available)");
        }
    }

    /** Opens each disk's storage: its image file, or a connection to its NBD export. */
    private static List<BlockBackend> openDisks(VmConfig config) {
        List<BlockBackend> opened = new ArrayList<>();
        try {
            for (DiskConfig d : config.disks()) {
                if (d.volume().isPresent()) {
                    try {
                        opened.add(NbdDisk.open(d.volume().get(), DeviceManager.NBD_TIMEOUT));
                    } catch (IOException e) {
                        throw new DiskImageException("disk " + d.id() + ": " + d.volume().get()
                                + " cannot be opened: " + e.getMessage());
                    }
                } else {
                    opened.add(DiskImage.open(d.path(), d.readOnly(), d.format()));
                }
            }
        } catch (RuntimeException e) {
            opened.forEach(BlockBackend::close);
            throw e;
        }
        return opened;
    }

    private static KernelCmdline buildCmdline(VmConfig config, LoadedKernel kernel, HostProfile host,
                                              List<MmioSlot> slots) {
        KernelCmdline cmdline = new KernelCmdline(Math.min(kernel.cmdlineMax(), BootLayout.CMDLINE_MAX - 1));
        try {
            cmdline.append(config.cmdline());
            cmdline.addIfAbsent("console", "ttyS0");
            if (cmdline.hasWord("acpi=off")) {
                // Without ACPI the guest cannot read the DSDT; kernels built with
                // VIRTIO_MMIO_CMDLINE_DEVICES find the devices here instead.
                for (MmioSlot slot : slots) {
                    cmdline.append(String.format("virtio_mmio.device=%d@0x%x:%d", VirtioMmioTransport.WINDOW_SIZE,
                            slot.base(), slot.gsi()));
                }
            }
            if (host.emulatesGuestKernel() && !cmdline.has("noxsave")) {
                // Such a host's CPUID shows the guest XSAVE whatever the VMM sets, and its emulator
                // cannot run XRSTOR in kernel mode: tell Linux not to use it.
                cmdline.append("noxsave");
            }
        } catch (IllegalArgumentException e) {
            throw new VmConfigException(e.getMessage());
        }
        return cmdline;
    }
}
