package io.stratus.agent.virt;

/** A guest's RAM as the host holds it: resident, merged by KSM with other pages, and its own. */
public record MemoryFootprint(long residentBytes, long ksmBytes, long privateBytes) {
}
