/** The Stratus agent: one per host, runs the host's guests in kvm-runtime. */
package io.stratus.agent;
