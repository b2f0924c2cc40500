package io.stratus.agent.virt;

import java.io.IOException;
import java.nio.channels.ByteChannel;

/**
 * The byte stream between the two ends of a live migration, both directions, as the agents carry
 * it (one gRPC call, its token checked before the first byte). What the bytes mean is the
 * driver's own: the same driver runs at both ends.
 *
 * <p>One thread may read while another writes.
 */
public interface MigrationPipe extends ByteChannel {
    /**
     * Ends this side's sending while it can still read: the peer reads the end and answers by
     * ending its own side, normally when the guest runs there, with an error when it does not.
     */
    void endOutput() throws IOException;

    /**
     * Reads until the peer ends its side: normally (the guest runs there) or with an error, which
     * this throws; data where none was expected fails too.
     */
    void awaitPeerEnd() throws IOException;
}
