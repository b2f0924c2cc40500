package io.stratus.scheduler.hosts;

import java.util.Optional;

/**
 * A host's compute service switch as {@code os-services} and {@code os-hypervisors} show it: the
 * operator's (disabled with a reason through {@code os-services}) and the agent's (a report with
 * {@code enabled = false} and a {@code disabled_reason}: no hypervisor driver works there), each
 * kept as set and combined only here.
 *
 * @param reason why it is disabled; empty when enabled (and when an operator gave no reason)
 */
public record ServiceStatus(boolean disabled, Optional<String> reason) {
    public static final ServiceStatus ENABLED = new ServiceStatus(false, Optional.empty());

    /**
     * A host is disabled when its operator or its agent says so. The operator's reason wins when
     * the operator disabled it and gave one; otherwise the agent's reason shows, so that a host
     * the agent reports unusable says why whatever the operator set.
     */
    public static ServiceStatus of(boolean operatorDisabled, Optional<String> operatorReason,
                                   Optional<String> agentReason) {
        Optional<String> operators = operatorDisabled ? operatorReason.filter(r -> !r.isBlank()) : Optional.empty();
        if (operators.isPresent()) {
            return new ServiceStatus(true, operators);
        }
        if (agentReason.isPresent()) {
            return new ServiceStatus(true, agentReason);
        }
        return operatorDisabled ? new ServiceStatus(true, operatorReason) : ENABLED;
    }

    /** "enabled" or "disabled", as Nova's service status reads. */
    public String status() {
        return disabled ? "disabled" : "enabled";
    }
}
