package io.stratus.scheduler.metadata;

/**
 * One file of an instance's config drive, its path relative to the drive's root (as Nova's
 * {@code metadata_for_config_drive} yields them: {@code openstack/latest/meta_data.json}...).
 */
public record ConfigDriveFile(String path, byte[] content) {
}
