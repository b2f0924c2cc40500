/**
 * The hosts as their agents report them: placement inventories and liveness from
 * {@code stratus.hosts.<host>}, each host's hypervisor driver and traits, and whether its agent can run
 * guests at all ({@link io.stratus.scheduler.hosts.ServiceStatus} combines that with the
 * operator's switch).
 */
package io.stratus.scheduler.hosts;
