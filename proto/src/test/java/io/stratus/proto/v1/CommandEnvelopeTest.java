package io.stratus.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.google.protobuf.InvalidProtocolBufferException;
import com.google.protobuf.Timestamp;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** The envelope as agents read it off Kafka: what goes in comes out, and garbage is an error to route. */
class CommandEnvelopeTest {
    private static CommandEnvelope boot() {
        return CommandEnvelope.newBuilder().setRequestId("req-1").setInstanceId("inst-1").setTenantId("demo")
                .setIssuedAt(Timestamp.newBuilder().setSeconds(1_790_000_000L))
                .setBoot(Boot.newBuilder().setName("web-1").setFlavor("m1.small")
                        .setResources(Resources.newBuilder().setVcpus(2).setMemoryMib(2048).setDiskGib(20))
                        .setSource(BootSource.newBuilder().setImageId("img-1").setImageSha256("ab".repeat(32)))
                        .addNetworks(NetworkInterface.newBuilder().setMac("52:54:00:12:34:56"))
                        .putMetadata("role", "web"))
                .build();
    }

    @Test
    void anEnvelopeSurvivesTheWireWithItsCommand() throws InvalidProtocolBufferException {
        CommandEnvelope sent = boot();
        CommandEnvelope received = CommandEnvelope.parseFrom(sent.toByteArray());
        assertThat(received).isEqualTo(sent);
        assertThat(received.getCommandCase()).isEqualTo(CommandEnvelope.CommandCase.BOOT);
        assertThat(received.getBoot().getResources().getMemoryMib()).isEqualTo(2048);
        assertThat(received.getBoot().getMetadataMap()).containsEntry("role", "web");
    }

    @Test
    void anEnvelopeWithoutACommandSaysSo() throws InvalidProtocolBufferException {
        CommandEnvelope bare = CommandEnvelope.parseFrom(
                CommandEnvelope.newBuilder().setRequestId("r").build().toByteArray());
        assertThat(bare.getCommandCase()).isEqualTo(CommandEnvelope.CommandCase.COMMAND_NOT_SET);
    }

    @Test
    void bytesThatAreNoEnvelopeAreRefused() {
        byte[] json = "{\"boot\": {}}".getBytes(StandardCharsets.UTF_8);
        assertThatThrownBy(() -> CommandEnvelope.parseFrom(json)).isInstanceOf(InvalidProtocolBufferException.class);
        byte[] truncated = java.util.Arrays.copyOf(boot().toByteArray(), 20);
        assertThatThrownBy(() -> CommandEnvelope.parseFrom(truncated))
                .isInstanceOf(InvalidProtocolBufferException.class);
    }

    @Test
    void aNewerSendersUnknownFieldsAreKeptNotFatal() throws InvalidProtocolBufferException {
        // A field number this version does not know (as a later contract version may add).
        byte[] withUnknown = boot().toBuilder().setUnknownFields(com.google.protobuf.UnknownFieldSet.newBuilder()
                .addField(99, com.google.protobuf.UnknownFieldSet.Field.newBuilder().addVarint(7).build()).build())
                .build().toByteArray();
        CommandEnvelope received = CommandEnvelope.parseFrom(withUnknown);
        assertThat(received.getBoot().getName()).isEqualTo("web-1");
        assertThat(received.getUnknownFields().hasField(99)).isTrue();
    }
}
