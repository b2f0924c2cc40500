package io.stratus.agent.image;

/**
 * What a source says of an image before its data is fetched.
 *
 * @param sha256 the data's digest (hex, lower case): what the fetched data must hash to
 * @param diskFormat Glance's disk_format: raw, qcow2, aki (a kernel), ari (a ramdisk)...
 */
public record ImageInfo(String id, String sha256, long size, String diskFormat) {
}
