/**
 * The public entry point: a guest described by a VmConfig, run as a VirtualMachine, ended with a
 * VmExit.
 */
package io.stratus.kvm.vm;
