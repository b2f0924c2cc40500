package io.stratus.agent.grpc;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.stub.ServerCallStreamObserver;
import io.stratus.agent.guest.ConsoleLog;
import io.stratus.agent.virt.FakeDriver;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleInput;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import org.junit.jupiter.api.Test;

class ConsoleAttachmentTest {
    private static final String ID = "vm-1";

    private final FakeDriver driver = new FakeDriver();
    private final ConsoleLog console = new ConsoleLog(4096);
    private final Map<String, VirtualGuest> running = new ConcurrentHashMap<>();
    private final RecordingCall call = new RecordingCall();
    private final ConsoleAttachment attachment = new ConsoleAttachment(ID::equals, id -> console,
            id -> Optional.ofNullable(running.get(id)), call);

    private FakeDriver.FakeGuest guest() {
        running.put(ID, driver.restore(ID, Path.of("unused"), console, false));
        return driver.lastGuest(ID);
    }

    private static ConsoleInput input(String instanceId, String data) {
        return ConsoleInput.newBuilder().setInstanceId(instanceId).setData(ByteString.copyFromUtf8(data)).build();
    }

    @Test
    void typesIntoTheRunningGuestInOrderAndStreamsItsOutput() {
        FakeDriver.FakeGuest guest = guest();
        console.write("earlier\n".getBytes(StandardCharsets.UTF_8), 0, 8);

        attachment.onNext(ConsoleInput.newBuilder().setInstanceId(ID).setTailBytes(1024).build());
        attachment.onNext(input("", "ech"));
        attachment.onNext(input(ID, "o hi\n"));
        console.write("hi\n".getBytes(StandardCharsets.UTF_8), 0, 3);

        assertThat(new String(guest.typed(), StandardCharsets.UTF_8)).isEqualTo("echo hi\n");
        assertThat(call.text()).isEqualTo("earlier\nhi\n");
        assertThat(call.error).isNull();
    }

    @Test
    void theFirstMessageMustNameAnInstanceOfThisHost() {
        attachment.onNext(input("", "ls\n"));
        assertThat(call.status()).isEqualTo(Status.Code.INVALID_ARGUMENT);

        RecordingCall other = new RecordingCall();
        new ConsoleAttachment(ID::equals, id -> console, id -> Optional.empty(), other).onNext(input("vm-2", ""));
        assertThat(other.status()).isEqualTo(Status.Code.NOT_FOUND);
    }

    @Test
    void inputNamingAnotherInstanceEndsTheCallAndReachesNoGuest() {
        FakeDriver.FakeGuest guest = guest();
        attachment.onNext(input(ID, ""));

        attachment.onNext(input("vm-2", "reboot\n"));

        assertThat(call.status()).isEqualTo(Status.Code.INVALID_ARGUMENT);
        assertThat(guest.typed()).isEmpty();
        console.write("later".getBytes(StandardCharsets.UTF_8), 0, 5);
        assertThat(call.text()).doesNotContain("later");
    }

    @Test
    void aStoppedGuestTakesNoInput() {
        attachment.onNext(input(ID, ""));

        attachment.onNext(input("", "ls\n"));

        assertThat(call.status()).isEqualTo(Status.Code.FAILED_PRECONDITION);
        assertThat(call.error.getMessage()).contains("not running");
    }

    @Test
    void theCallEndsWhenTheConsoleCloses() {
        guest();
        attachment.onNext(input(ID, ""));

        console.close();

        assertThat(call.completed).isTrue();
    }

    /** The server side of one call, as gRPC would drive it, recording what was sent. */
    private static final class RecordingCall extends ServerCallStreamObserver<ConsoleChunk> {
        final List<ConsoleChunk> sent = new ArrayList<>();
        Throwable error;
        boolean completed;

        String text() {
            StringBuilder b = new StringBuilder();
            sent.forEach(c -> b.append(c.getData().toStringUtf8()));
            return b.toString();
        }

        Status.Code status() {
            return error == null ? null : Status.fromThrowable(error).getCode();
        }

        @Override
        public void onNext(ConsoleChunk value) {
            assertThat(error == null && !completed).as("a message after the call ended").isTrue();
            sent.add(value);
        }

        @Override
        public void onError(Throwable t) {
            assertThat(error == null && !completed).as("the call ended twice").isTrue();
            error = t;
        }

        @Override
        public void onCompleted() {
            assertThat(error == null && !completed).as("the call ended twice").isTrue();
            completed = true;
        }

        @Override
        public boolean isCancelled() {
            return false;
        }

        @Override
        public void setOnCancelHandler(Runnable onCancelHandler) {
        }

        @Override
        public void setCompression(String compression) {
        }

        @Override
        public boolean isReady() {
            return true;
        }

        @Override
        public void setOnReadyHandler(Runnable onReadyHandler) {
        }

        @Override
        public void disableAutoInboundFlowControl() {
        }

        @Override
        public void request(int count) {
        }

        @Override
        public void setMessageCompression(boolean enable) {
        }
    }
}
