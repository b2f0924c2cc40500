package io.stratus.agent.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.stratus.agent.guest.ConsoleLog;
import io.stratus.agent.virt.HypervisorException;
import io.stratus.agent.virt.VirtualGuest;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleInput;
import java.util.Optional;
import java.util.function.Function;
import java.util.function.Predicate;

/**
 * One {@code AttachConsole} call: the first message names the instance and subscribes the call to
 * its console output; every message's data is typed into the running guest's serial. Output and
 * input run on different threads (the guest's console thread, gRPC's), so the response is written
 * under a lock of its own, never while the console's lock is wanted: the console calls the
 * subscriber under its lock, and taking them in the other order could deadlock.
 */
final class ConsoleAttachment implements StreamObserver<ConsoleInput>, ConsoleLog.Subscriber {
    private final Predicate<String> hosted;
    private final Function<String, ConsoleLog> consoles;
    private final Function<String, Optional<VirtualGuest>> running;
    private final ServerCallStreamObserver<ConsoleChunk> call;
    private final Object sending = new Object();
    private boolean ended;
    private boolean first = true;
    private String instanceId;
    private ConsoleLog console;

    /**
     * @param hosted whether an instance (not deleted) is on this host
     * @param consoles an instance's console output
     * @param running an instance's guest, while it runs
     */
    ConsoleAttachment(Predicate<String> hosted, Function<String, ConsoleLog> consoles,
                      Function<String, Optional<VirtualGuest>> running, ServerCallStreamObserver<ConsoleChunk> call) {
        this.hosted = hosted;
        this.consoles = consoles;
        this.running = running;
        this.call = call;
        call.setOnCancelHandler(this::detach);
    }

    @Override
    public void onNext(ConsoleInput input) {
        try {
            if (instanceId == null) {
                attach(input);
            } else if (!input.getInstanceId().isEmpty() && !input.getInstanceId().equals(instanceId)) {
                throw Status.INVALID_ARGUMENT.withDescription("this console call is attached to instance "
                        + instanceId + ", not " + input.getInstanceId()).asRuntimeException();
            }
            if (!input.getData().isEmpty()) {
                type(input.getData());
            }
        } catch (StatusRuntimeException e) {
            detach();
            end(e);
        }
    }

    private void attach(ConsoleInput input) {
        String id = input.getInstanceId();
        if (id.isEmpty()) {
            throw Status.INVALID_ARGUMENT.withDescription("the first message of AttachConsole names the instance")
                    .asRuntimeException();
        }
        if (!hosted.test(id)) {
            throw Status.NOT_FOUND.withDescription("instance " + id + " is not on this host").asRuntimeException();
        }
        instanceId = id;
        console = consoles.apply(id);
        console.subscribe(this, (int) Math.min(Integer.MAX_VALUE, input.getTailBytes() & 0xffffffffL));
    }

    private void type(ByteString data) {
        VirtualGuest guest = running.apply(instanceId).orElseThrow(() -> Status.FAILED_PRECONDITION.withDescription(
                "instance " + instanceId + " is not running: its console takes no input").asRuntimeException());
        byte[] bytes = data.toByteArray();
        try {
            // What a full receiver does not take is dropped, as a real UART drops what overruns it.
            guest.consoleInput(bytes, 0, bytes.length);
        } catch (HypervisorException e) {
            throw Status.FAILED_PRECONDITION.withDescription(e.getMessage()).asRuntimeException();
        }
    }

    @Override
    public void onError(Throwable t) {
        detach();
    }

    @Override
    public void onCompleted() {
        detach();
        end(null);
    }

    /** Live output; the first chunk (the held tail) goes even when the call is not ready yet. */
    @Override
    public void output(long offset, byte[] bytes) {
        synchronized (sending) {
            if (!ended && !call.isCancelled() && (first || call.isReady()) && bytes.length > 0) {
                call.onNext(ConsoleChunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(bytes)).build());
            }
            first = false;
        }
    }

    @Override
    public void closed() {
        end(null);
    }

    private void detach() {
        if (console != null) {
            console.unsubscribe(this);
        }
    }

    private void end(StatusRuntimeException error) {
        synchronized (sending) {
            if (ended || call.isCancelled()) {
                return;
            }
            ended = true;
            if (error == null) {
                call.onCompleted();
            } else {
                call.onError(error);
            }
        }
    }
}
