package io.stratus.cli;

import io.stratus.kafka.EmbeddedKafkaBroker;
import java.nio.file.Path;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code stratus kafka}: the embedded single-node broker on its own, in the foreground, for agents
 * and schedulers started separately on this machine. Its logs stay in the data directory across
 * runs; Ctrl-C stops it cleanly.
 */
@Command(name = "kafka", mixinStandardHelpOptions = true,
        description = "Run the embedded single-node Kafka broker (KRaft) in the foreground.")
final class KafkaCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--port", defaultValue = "9092", description = "client port on 127.0.0.1 (default: ${DEFAULT-VALUE})")
    int port;

    @Option(names = "--controller-port", defaultValue = "9093",
            description = "KRaft controller port on 127.0.0.1 (default: ${DEFAULT-VALUE})")
    int controllerPort;

    @Option(names = "--data-dir", description = "log directory (default: ~/.local/share/stratus/kafka)")
    Path dataDir;

    @Option(names = "--debug", description = "print the broker's log and stack traces")
    boolean debug;

    @Override
    public Integer call() {
        CliLogging.configure(debug);
        Path dir = dataDir != null ? dataDir
                : Path.of(System.getProperty("user.home"), ".local", "share", "stratus", "kafka");
        EmbeddedKafkaBroker broker = EmbeddedKafkaBroker.start(new EmbeddedKafkaBroker.Settings(dir, port,
                controllerPort, Map.of()));
        Runtime.getRuntime().addShutdownHook(new Thread(broker::close, "kafka-shutdown"));
        spec.commandLine().getOut().println("bootstrap.servers=" + broker.bootstrapServers() + " data=" + dir);
        spec.commandLine().getOut().flush();
        broker.awaitShutdown();
        return 0;
    }
}
