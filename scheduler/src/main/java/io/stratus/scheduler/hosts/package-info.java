/** The hosts as their agents report them: placement inventories and liveness from {@code stratus.hosts}. */
package io.stratus.scheduler.hosts;
