package io.stratus.cli;

import java.io.IOException;
import java.io.PrintWriter;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code stratus vm control SOCKET COMMAND...}: one request to a guest started with {@code vm run --control}. */
@Command(name = "control", mixinStandardHelpOptions = true,
        description = {"Send one command to a running `stratus vm run --control SOCKET` and print its answer.",
                "Commands: status | pause | resume | snapshot DIR | balloon [SIZE] | stop.",
                "Exit code: 0 done, 2 refused (bad command or state), 1 no answer."})
final class VmControlCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", paramLabel = "SOCKET", description = "The guest's control socket.")
    Path socket;

    @Parameters(index = "1..*", arity = "1..*", paramLabel = "COMMAND", description = "The command and its argument.")
    List<String> command;

    @Override
    public Integer call() {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        String request = String.join(" ", command);
        String answer;
        try (SocketChannel channel = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            channel.connect(UnixDomainSocketAddress.of(socket));
            channel.write(ByteBuffer.wrap((request + "\n").getBytes(StandardCharsets.UTF_8)));
            channel.shutdownOutput();
            answer = new String(Channels.newInputStream(channel).readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            err.println("stratus: error: no guest answers on " + socket + ": " + e.getMessage());
            err.flush();
            return StratusCli.EXIT_FAILURE;
        }
        List<String> lines = answer.lines().toList();
        if (lines.isEmpty()) {
            err.println("stratus: error: the guest closed " + socket + " without an answer");
            err.flush();
            return StratusCli.EXIT_FAILURE;
        }
        if (lines.get(0).startsWith("error: ")) {
            err.println("stratus: " + lines.get(0));
            err.flush();
            return StratusCli.EXIT_USAGE;
        }
        lines.subList(1, lines.size()).forEach(out::println);
        out.flush();
        return 0;
    }
}
