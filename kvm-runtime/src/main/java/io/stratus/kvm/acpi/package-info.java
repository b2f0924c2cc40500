/**
 * The ACPI tables the VMM generates and the AML encoder behind its DSDT.
 */
package io.stratus.kvm.acpi;
