package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.scheduler.compute.Flavor;
import io.stratus.scheduler.compute.QuotaStore;
import io.stratus.scheduler.compute.ServerStore;
import java.util.Map;

/**
 * Nova's quota checks on a project's instances, cores and RAM: before a create or an upsize
 * (403 with Nova's message when the request would go over), and again after a create, so that
 * racing creates cannot both slip under the limit.
 */
final class ServerQuotas {
    private final QuotaStore quotas;
    private final ServerStore servers;

    ServerQuotas(QuotaStore quotas, ServerStore servers) {
        this.quotas = quotas;
        this.servers = servers;
    }

    /** Room for {@code count} servers of {@code flavor} in {@code projectId}. */
    void checkCreate(String projectId, Flavor flavor, long count) {
        Map<String, Long> limits = quotas.limits(projectId);
        ServerStore.Usage used = servers.usage(projectId);
        checkOne(limits, "instances", used.instances(), count);
        checkOne(limits, "cores", used.cores(), count * flavor.vcpus());
        checkOne(limits, "ram", used.ramMib(), count * flavor.ramMib());
    }

    /** Room for what a resize adds (a downsize needs none: the old size is held until confirm). */
    void checkDelta(String projectId, long cores, long ramMib) {
        Map<String, Long> limits = quotas.limits(projectId);
        ServerStore.Usage used = servers.usage(projectId);
        if (cores > 0) {
            checkOne(limits, "cores", used.cores(), cores);
        }
        if (ramMib > 0) {
            checkOne(limits, "ram", used.ramMib(), ramMib);
        }
    }

    /** Whether {@code projectId} is over any limit now (after its servers were made). */
    boolean over(String projectId) {
        ServerStore.Usage used = servers.usage(projectId);
        Map<String, Long> limits = quotas.limits(projectId);
        return over(limits, "instances", used.instances()) || over(limits, "cores", used.cores())
                || over(limits, "ram", used.ramMib());
    }

    private static void checkOne(Map<String, Long> limits, String resource, long used, long wanted) {
        long limit = limits.getOrDefault(resource, -1L);
        if (limit >= 0 && used + wanted > limit) {
            throw new ApiException(403, "Quota exceeded for " + resource + ": Requested " + wanted + ", but already used "
                    + used + " of " + limit + " " + resource);
        }
    }

    private static boolean over(Map<String, Long> limits, String resource, long used) {
        long limit = limits.getOrDefault(resource, -1L);
        return limit >= 0 && used > limit;
    }
}
