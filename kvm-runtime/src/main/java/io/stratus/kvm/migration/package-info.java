/**
 * Live migration of a running guest between two {@link io.stratus.kvm.vm.VirtualMachine}s by
 * pre-copy: all of guest RAM, then rounds of the pages dirtied meanwhile, then a short pause for
 * the last dirty pages and the machine state; with
 * {@link io.stratus.kvm.migration.MigrationSettings#withDisks(boolean)}, the writable disks' content
 * moves the same way (their own blocks, then the blocks written meanwhile), for targets without
 * shared storage. {@link io.stratus.kvm.migration.MigrationSource}
 * sends, {@link io.stratus.kvm.migration.MigrationTarget} receives; the stream is described in
 * kvm-runtime/MIGRATION.md.
 */
package io.stratus.kvm.migration;
