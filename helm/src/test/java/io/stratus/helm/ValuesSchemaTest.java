package io.stratus.helm;

import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** values.schema.json refuses values the chart cannot run with, naming the value. */
class ValuesSchemaTest {
    @TempDir
    Path dir;

    @Test
    void refusesReplicasThatAreNotANumber() throws IOException {
        assertThatThrownBy(() -> RenderedChart.render(values("scheduler:\n  replicas: \"two\"\n")))
                .hasMessageContaining("replicas");
    }

    @Test
    void refusesAnUnknownTopLevelKey() throws IOException {
        assertThatThrownBy(() -> RenderedChart.render(values("schedulr:\n  replicas: 3\n")))
                .hasMessageContaining("schedulr");
    }

    @Test
    void refusesAnAgentWithoutANodeSelector() throws IOException {
        assertThatThrownBy(() -> RenderedChart.render(values("agent:\n  nodeSelector: null\n")))
                .hasMessageContaining("nodeSelector");
    }

    @Test
    void refusesAnEmptyKafkaBootstrapAndANonPostgresqlUrl() throws IOException {
        assertThatThrownBy(() -> RenderedChart.render(values("kafka:\n  bootstrapServers: \"\"\n")))
                .hasMessageContaining("bootstrapServers");
        assertThatThrownBy(() -> RenderedChart.render(values("postgresql:\n  url: jdbc:h2:mem:x\n")))
                .hasMessageContaining("url");
    }

    @Test
    void refusesAZeroVcpuCapacity() throws IOException {
        assertThatThrownBy(() -> RenderedChart.render(values("agent:\n  capacity:\n    vcpus: 0\n")))
                .hasMessageContaining("vcpus");
    }

    private Path values(String yaml) throws IOException {
        return Files.writeString(dir.resolve("values.yaml"), yaml);
    }
}
