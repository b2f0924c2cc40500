package io.stratus.agent.grpc;

import com.google.protobuf.ByteString;
import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.stratus.agent.guest.ConsoleLog;
import io.stratus.agent.guest.Guest;
import io.stratus.agent.guest.GuestSupervisor;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.lifecycle.HostReports;
import io.stratus.agent.store.AgentStore;
import io.stratus.proto.v1.AgentServiceGrpc;
import io.stratus.proto.v1.ConsoleChunk;
import io.stratus.proto.v1.ConsoleInput;
import io.stratus.proto.v1.ConsoleOutputRequest;
import io.stratus.proto.v1.DescribeRequest;
import io.stratus.proto.v1.HostReport;
import io.stratus.proto.v1.InstanceInfo;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.ListInstancesRequest;
import io.stratus.proto.v1.ListInstancesResponse;
import io.stratus.proto.v1.StreamConsoleRequest;
import java.util.Optional;

/**
 * gRPC {@code AgentService}: what this host is and runs, and the guests' serial consoles. The
 * instance list and the consoles are tenants' data: with TLS only the control plane may ask, as
 * the API's policy allowed the user (a peer agent may describe the host only).
 */
public final class AgentGrpcService extends AgentServiceGrpc.AgentServiceImplBase {
    /** Console output sent before live streaming starts, when the request names no tail. */
    private static final int DEFAULT_TAIL = 64 * 1024;

    private final AgentStore store;
    private final GuestSupervisor guests;
    private final HostReports reports;
    private final CallerPolicy policy;

    public AgentGrpcService(AgentStore store, GuestSupervisor guests, HostReports reports, CallerPolicy policy) {
        this.store = store;
        this.guests = guests;
        this.reports = reports;
        this.policy = policy;
    }

    /** Whether the control plane calls; otherwise the call has ended with PERMISSION_DENIED. */
    private boolean fromControlPlane(String what, StreamObserver<?> response) {
        try {
            policy.requireControlPlane(CallerInterceptor.current(), what);
            return true;
        } catch (StatusRuntimeException e) {
            response.onError(e);
            return false;
        }
    }

    @Override
    public void describe(DescribeRequest request, StreamObserver<HostReport> response) {
        response.onNext(reports.current());
        response.onCompleted();
    }

    @Override
    public void listInstances(ListInstancesRequest request, StreamObserver<ListInstancesResponse> response) {
        if (!fromControlPlane("ListInstances", response)) {
            return;
        }
        ListInstancesResponse.Builder out = ListInstancesResponse.newBuilder();
        for (InstanceRecord r : store.all()) {
            if (r.state() == InstanceState.DELETED
                    || (!request.getTenantId().isEmpty() && !request.getTenantId().equals(r.tenantId()))) {
                continue;
            }
            InstanceInfo.Builder info = InstanceInfo.newBuilder().setInstanceId(r.id()).setTenantId(r.tenantId())
                    .setName(r.name()).setState(r.state()).setTaskState(r.task()).setResources(r.resources())
                    .setPowerState(r.power());
            r.fault().ifPresent(info::setFault);
            out.addInstances(info);
        }
        response.onNext(out.build());
        response.onCompleted();
    }

    /**
     * The console's held tail, then live output until the client cancels or the instance is
     * deleted. A client that reads slower than the guest writes misses output rather than holding
     * memory: gRPC buffers what it must, the guest never waits.
     */
    @Override
    public void streamConsole(StreamConsoleRequest request, StreamObserver<ConsoleChunk> response) {
        if (!fromControlPlane("StreamConsole", response)) {
            return;
        }
        Optional<InstanceRecord> rec = store.find(request.getInstanceId());
        if (rec.isEmpty() || rec.get().state() == InstanceState.DELETED) {
            response.onError(Status.NOT_FOUND.withDescription("instance " + request.getInstanceId()
                    + " is not on this host").asRuntimeException());
            return;
        }
        ServerCallStreamObserver<ConsoleChunk> call = (ServerCallStreamObserver<ConsoleChunk>) response;
        ConsoleLog console = guests.console(request.getInstanceId());
        boolean[] first = {true};
        ConsoleLog.Subscriber live = new ConsoleLog.Subscriber() {
            // Called under the console's lock, so calls never overlap.
            @Override
            public void output(long offset, byte[] bytes) {
                if (!call.isCancelled() && (first[0] || call.isReady())) {
                    first[0] = false;
                    call.onNext(chunk(offset, bytes));
                }
            }

            @Override
            public void closed() {
                if (!call.isCancelled()) {
                    call.onCompleted();
                }
            }
        };
        call.setOnCancelHandler(() -> console.unsubscribe(live));
        int tail = request.getTailBytes() == 0 ? DEFAULT_TAIL : (int) Math.min(Integer.MAX_VALUE,
                request.getTailBytes() & 0xffffffffL);
        console.subscribe(live, tail);
    }

    /** An interactive console: see {@link ConsoleAttachment}. */
    @Override
    public StreamObserver<ConsoleInput> attachConsole(StreamObserver<ConsoleChunk> response) {
        if (!fromControlPlane("AttachConsole", response)) {
            return new StreamObserver<>() {
                @Override
                public void onNext(ConsoleInput ignored) {
                    // The call has already ended with PERMISSION_DENIED.
                }

                @Override
                public void onError(Throwable t) {
                }

                @Override
                public void onCompleted() {
                }
            };
        }
        return new ConsoleAttachment(id -> store.find(id).filter(r -> r.state() != InstanceState.DELETED).isPresent(),
                guests::console, id -> guests.running(id).map(Guest::machine),
                (ServerCallStreamObserver<ConsoleChunk>) response);
    }

    @Override
    public void getConsoleOutput(ConsoleOutputRequest request, StreamObserver<ConsoleChunk> response) {
        if (!fromControlPlane("GetConsoleOutput", response)) {
            return;
        }
        Optional<InstanceRecord> rec = store.find(request.getInstanceId());
        if (rec.isEmpty() || rec.get().state() == InstanceState.DELETED) {
            response.onError(Status.NOT_FOUND.withDescription("instance " + request.getInstanceId()
                    + " is not on this host").asRuntimeException());
            return;
        }
        int tail = request.getTailBytes() == 0 ? Integer.MAX_VALUE
                : (int) Math.min(Integer.MAX_VALUE, request.getTailBytes() & 0xffffffffL);
        ConsoleLog.Chunk held = guests.console(request.getInstanceId()).tail(tail);
        response.onNext(chunk(held.offset(), held.bytes()));
        response.onCompleted();
    }

    private static ConsoleChunk chunk(long offset, byte[] bytes) {
        return ConsoleChunk.newBuilder().setOffset(offset).setData(ByteString.copyFrom(bytes)).build();
    }
}
