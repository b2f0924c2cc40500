package io.stratus.agent.bus;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.CommandEnvelope;
import io.stratus.proto.v1.Stop;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import org.junit.jupiter.api.Test;

class CommandConsumerParseTest {

    @Property(tries = 2000)
    void anyBytesAreEitherAnEnvelopeOrAReason(@ForAll byte[] value) {
        CommandConsumer.Parsed parsed = CommandConsumer.parse(value);
        assertThat(parsed.envelope().isPresent()).isNotEqualTo(!parsed.problem().isEmpty());
    }

    @Test
    void aValidEnvelopePasses() {
        CommandEnvelope env = CommandEnvelope.newBuilder().setRequestId("r1").setInstanceId("i-1").setTenantId("t")
                .setBoot(Boot.newBuilder().setName("x")).build();
        assertThat(CommandConsumer.parse(env.toByteArray()).envelope()).contains(env);
    }

    @Test
    void eachMissingPieceIsNamed() {
        assertThat(CommandConsumer.parse(null).problem()).contains("request_id");
        assertThat(problem(CommandEnvelope.newBuilder().setInstanceId("i").setStop(Stop.getDefaultInstance())))
                .contains("request_id");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("a/b")
                .setStop(Stop.getDefaultInstance()))).contains("instance_id 'a/b' is not an id");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("i")))
                .contains("carries no command");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("i")
                .setBoot(Boot.getDefaultInstance()))).contains("tenant_id");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r".repeat(129)).setInstanceId("i")
                .setStop(Stop.getDefaultInstance()))).contains("1 to 128");
        assertThat(CommandConsumer.parse(new byte[] {(byte) 0xff, 1, 2}).problem()).startsWith("not a CommandEnvelope");
    }

    @Test
    void whatTheRecordsCannotHoldIsRefusedUpFront() {
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("i").setTenantId("t")
                .setBoot(Boot.newBuilder().setName("n".repeat(300))))).contains("name is 300 characters; at most 255");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("i")
                .setTenantId("t".repeat(65)).setBoot(Boot.newBuilder().setName("x"))))
                .contains("tenant_id is 65 characters; at most 64");
        assertThat(problem(CommandEnvelope.newBuilder().setRequestId("r").setInstanceId("i").setTenantId("t")
                .setBoot(Boot.newBuilder().setName("n".repeat(255))))).isEmpty();
    }

    private static String problem(CommandEnvelope.Builder env) {
        return CommandConsumer.parse(env.build().toByteArray()).problem();
    }
}
