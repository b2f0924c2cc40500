package io.stratus.scheduler.placement;

/** The kinds of resources a host offers, named as OpenStack Placement names them. */
public enum ResourceClass {
    VCPU,
    MEMORY_MB,
    DISK_GB
}
