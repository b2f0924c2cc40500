/**
 * Host selection: filters (alive and enabled, resources, availability zone, image properties,
 * the traits of the host's hypervisor driver, server groups) and weighers (RAM and CPU spread or
 * pack, same image for KSM) over what the scheduler knows of each host, feeding placement's
 * claims in order of preference.
 */
package io.stratus.scheduler.selection;
