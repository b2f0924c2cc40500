package io.stratus.scheduler.compute;

import io.stratus.scheduler.selection.RequestSpec;

/** Servers kept together (affinity) or apart (anti-affinity) by the scheduler. */
public record ServerGroup(String id, String name, String projectId, RequestSpec.Policy policy) {
    /** The policy as the API names it. */
    public String policyName() {
        return policy == RequestSpec.Policy.AFFINITY ? "affinity" : "anti-affinity";
    }

    public static RequestSpec.Policy policy(String apiName) {
        switch (apiName) {
            case "affinity":
                return RequestSpec.Policy.AFFINITY;
            case "anti-affinity":
                return RequestSpec.Policy.ANTI_AFFINITY;
            default:
                throw new IllegalArgumentException("policy must be affinity or anti-affinity, not " + apiName);
        }
    }
}
