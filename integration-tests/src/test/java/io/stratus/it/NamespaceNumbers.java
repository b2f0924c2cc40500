package io.stratus.it;

import io.stratus.local.HostNetwork;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The host namespace numbers ({@link HostNetwork#create}) that the clouds of this test JVM hold.
 * A number names machine-wide things — namespace {@code stratus-<n>}, its veth {@code stratus-v<n>},
 * address {@code 10.213.0.<10 + n>} — and making a namespace again first deletes whatever holds
 * its number, so two classes running at once on one number cut each other's agents off the bridge
 * without a word (MigrationIT's restarted target once took TenantNetworkIT's number 2). Here the
 * second class's claim fails, naming the holder. The numbers are machine-wide, hence held JVM-wide.
 *
 * <p>{@code -Dstratus.it.namespace-offset=N} shifts every class's numbers by N, for a run beside
 * another one on the same machine (another checkout's integration tests).
 */
final class NamespaceNumbers {
    private static final Map<Integer, String> HELD = new ConcurrentHashMap<>();

    private NamespaceNumbers() {
    }

    /**
     * Claims namespace number {@code index} (shifted by the offset) for {@code owner}; claiming a
     * number again for the same owner (an agent restarted on its host) is allowed.
     *
     * @return the number to make the namespace with
     * @throws IllegalStateException another cloud of this JVM holds it
     */
    static int claim(int index, String owner) {
        int number = number(index);
        String holder = HELD.putIfAbsent(number, owner);
        if (holder != null && !holder.equals(owner)) {
            throw new IllegalStateException("host namespace number " + number + " (" + index + " + offset "
                    + offset() + ") is held by cloud " + holder + ", not free for cloud " + owner
                    + ": give each class numbers of its own");
        }
        return number;
    }

    /** Gives {@code number} back, if {@code owner} holds it. */
    static void release(int number, String owner) {
        HELD.remove(number, owner);
    }

    /** The number namespace {@code index} is made with. */
    static int number(int index) {
        return offset() + index;
    }

    private static int offset() {
        return Integer.getInteger("stratus.it.namespace-offset", 0);
    }
}
