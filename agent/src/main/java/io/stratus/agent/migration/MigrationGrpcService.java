package io.stratus.agent.migration;

import io.grpc.Status;
import io.grpc.StatusRuntimeException;
import io.grpc.stub.ServerCallStreamObserver;
import io.grpc.stub.StreamObserver;
import io.stratus.agent.grpc.CallerInterceptor;
import io.stratus.agent.grpc.CallerPolicy;
import io.stratus.proto.v1.MigrationAck;
import io.stratus.proto.v1.MigrationMessage;
import io.stratus.proto.v1.MigrationServiceGrpc;
import java.util.concurrent.ExecutorService;
import org.jboss.logging.Logger;

/**
 * gRPC {@code MigrationService}: the target's end of a live migration. The first message must be
 * a Hello that {@link MigrationTargets} admits; after the accepting answer, both directions carry
 * the engine's stream, received on a worker thread (never on gRPC's).
 */
public final class MigrationGrpcService extends MigrationServiceGrpc.MigrationServiceImplBase {
    private static final Logger LOG = Logger.getLogger(MigrationGrpcService.class);

    private final MigrationTargets targets;
    private final CallerPolicy policy;
    private final ExecutorService workers;

    /** @param workers where received guests are taken in, off gRPC's threads */
    public MigrationGrpcService(MigrationTargets targets, CallerPolicy policy, ExecutorService workers) {
        this.targets = targets;
        this.policy = policy;
        this.workers = workers;
    }

    @Override
    public StreamObserver<MigrationMessage> migrate(StreamObserver<MigrationAck> response) {
        ServerCallStreamObserver<MigrationAck> out = (ServerCallStreamObserver<MigrationAck>) response;
        out.disableAutoRequest();
        out.request(1);
        // gRPC takes the readiness handler only now, before the Hello has been seen.
        StreamChannel<?>[] ready = new StreamChannel<?>[1];
        out.setOnReadyHandler(() -> {
            StreamChannel<?> c = ready[0];
            if (c != null) {
                c.onReady();
            }
        });
        return new StreamObserver<>() {
            private volatile StreamChannel<MigrationAck> channel;

            @Override
            public void onNext(MigrationMessage m) {
                if (channel != null) {
                    if (m.getBodyCase() != MigrationMessage.BodyCase.STREAM) {
                        channel.onEnd(Status.INVALID_ARGUMENT.withDescription("a Hello after the stream started")
                                .asRuntimeException());
                        return;
                    }
                    channel.onChunk(m.getStream());
                    return;
                }
                if (m.getBodyCase() != MigrationMessage.BodyCase.HELLO) {
                    out.onError(Status.INVALID_ARGUMENT.withDescription("a migration stream starts with a Hello")
                            .asRuntimeException());
                    return;
                }
                MigrationTargets.Claimed claimed;
                try {
                    // With TLS the sender is the host its certificate names: no other host sends as the source.
                    policy.requireHost(CallerInterceptor.current(), m.getHello().getSourceHost(), "a migration from "
                            + m.getHello().getSourceHost());
                    claimed = targets.admit(m.getHello());
                } catch (StatusRuntimeException e) {
                    LOG.infof("migration %s of instance %s from %s refused: %s", m.getHello().getMigrationId(),
                            m.getHello().getInstanceId(), m.getHello().getSourceHost(), e.getStatus());
                    out.onError(e);
                    return;
                }
                StreamChannel<MigrationAck> ch = new StreamChannel<>(out,
                        b -> MigrationAck.newBuilder().setStream(b).build(), () -> out.request(1),
                        targets.stallLimit());
                ready[0] = ch;
                channel = ch;
                out.onNext(MigrationAck.newBuilder().setAccepted(true).build());
                out.request(1);
                workers.execute(() -> {
                    try {
                        claimed.receive(ch);
                        ch.close();
                    } catch (RuntimeException e) {
                        ch.fail(Status.ABORTED.withDescription(claimed.describe() + " failed on the target: "
                                + e.getMessage()));
                    }
                });
            }

            @Override
            public void onError(Throwable t) {
                if (channel != null) {
                    channel.onEnd(t);
                }
            }

            @Override
            public void onCompleted() {
                if (channel != null) {
                    channel.onEnd(null);
                } else {
                    out.onCompleted();
                }
            }
        };
    }
}
