package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.kvm.devices.ConsoleBuffer;
import io.stratus.kvm.sys.NetworkNamespace;
import io.stratus.kvm.testing.GuestKit;
import io.stratus.kvm.testing.RequiresKvm;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.HexFormat;
import java.util.List;
import java.util.Random;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The test kernel on virtio-net over a TAP, in a network namespace the test makes: it pings the
 * TAP's host end and moves a file each way over TCP with busybox nc, contents checked.
 */
@Tag("linux")
@RequiresKvm
class LinuxNetTest {
    private static final String HOST_IP = "10.77.0.1";
    private final String ns = "stratus-net-" + ProcessHandle.current().pid();

    @BeforeEach
    void namespace() throws Exception {
        ip("netns", "add", ns);
        ip("netns", "exec", ns, "ip", "link", "set", "lo", "up");
        ip("netns", "exec", ns, "ip", "tuntap", "add", "dev", "st0", "mode", "tap");
        ip("netns", "exec", ns, "ip", "addr", "add", HOST_IP + "/24", "dev", "st0");
        ip("netns", "exec", ns, "ip", "link", "set", "st0", "up");
    }

    @AfterEach
    void removeNamespace() throws Exception {
        new ProcessBuilder("ip", "netns", "del", ns).inheritIO().start().waitFor();
    }

    private static void ip(String... args) throws Exception {
        List<String> cmd = new java.util.ArrayList<>(List.of("ip"));
        cmd.addAll(List.of(args));
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor()).as(String.join(" ", cmd) + ": " + out).isZero();
    }

    @Test
    @Timeout(400)
    void guestPingsTheHostAndMovesFilesBothWaysOverTcp(@TempDir Path dir) throws Exception {
        byte[] up = new byte[200_000];
        byte[] down = new byte[300_000];
        new Random(1).nextBytes(up);
        new Random(2).nextBytes(down);
        Path tree = Files.createDirectory(dir.resolve("tree"));
        Files.write(tree.resolve("up.bin"), up);
        Path script = tree.resolve("net.sh");
        Files.writeString(script, String.join("\n",
                "#!/bin/sh",
                "ip addr add 10.77.0.2/24 dev eth0 && ip link set eth0 up",
                "ping -c 2 " + HOST_IP + " && echo PING-OK",
                "nc " + HOST_IP + " 5001 < /mnt/up.bin",
                "nc " + HOST_IP + " 5002 > /tmp/down.bin",
                "md5sum /tmp/down.bin",
                ""));
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path tools = dir.resolve("tools.img");
        Process mkfs = new ProcessBuilder("mkfs.ext4", "-q", "-F", "-d", tree.toString(), tools.toString(), "16M")
                .redirectErrorStream(true).start();
        assertThat(mkfs.waitFor()).isZero();

        ExecutorService inNamespace = Executors.newSingleThreadExecutor();
        try {
            // Sockets and the TAP are made on a thread inside the namespace; everything else can stay out.
            ServerSocket[] servers = inNamespace.submit(() -> {
                NetworkNamespace.enter(ns);
                InetAddress host = InetAddress.getByName(HOST_IP);
                return new ServerSocket[] {new ServerSocket(5001, 1, host), new ServerSocket(5002, 1, host)};
            }).get();
            CompletableFuture<byte[]> received = CompletableFuture.supplyAsync(() -> {
                try (ServerSocket s = servers[0]; Socket c = s.accept(); InputStream in = c.getInputStream()) {
                    return in.readNBytes(up.length);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            CompletableFuture<Void> sent = CompletableFuture.runAsync(() -> {
                try (ServerSocket s = servers[1]; Socket c = s.accept(); OutputStream out = c.getOutputStream()) {
                    out.write(down);
                } catch (Exception e) {
                    throw new IllegalStateException(e);
                }
            });
            VmConfig config = VmConfig.builder(GuestKit.file("test-kernel/vmlinux")).name("net")
                    .initrd(GuestKit.file("initramfs.cpio")).vcpus(1).memoryMiB(256)
                    .cmdline("panic=-1 stratus.run=/mnt/net.sh").disk(DiskConfig.of(tools, true))
                    .net(NetConfig.of("st0")).build();
            ConsoleBuffer console = new ConsoleBuffer(1 << 20);
            try (VirtualMachine vm = inNamespace.submit(() -> VirtualMachine.create(config, console)).get()) {
                vm.start();
                VmExit exit = vm.awaitExit(Duration.ofSeconds(360)).orElseThrow(
                        () -> new AssertionError("no exit; console:\n" + console.text()));
                String text = console.text();
                assertThat(exit.reason()).as(text).isEqualTo(VmExit.Reason.POWER_OFF);
                assertThat(text).contains("2 packets transmitted, 2 packets received", "PING-OK");
                assertThat(received.get(30, TimeUnit.SECONDS)).as("guest to host").isEqualTo(up);
                sent.get(30, TimeUnit.SECONDS);
                String md5 = HexFormat.of().formatHex(MessageDigest.getInstance("MD5").digest(down));
                assertThat(text).as("host to guest").containsPattern(Pattern.compile(md5 + "\\s+/tmp/down.bin"));
                assertThat(vm.netMetrics().get(0).rxBytes()).isGreaterThan(down.length);
                assertThat(vm.netMetrics().get(0).txBytes()).isGreaterThan(up.length);
            }
        } finally {
            inNamespace.shutdownNow();
        }
    }
}
