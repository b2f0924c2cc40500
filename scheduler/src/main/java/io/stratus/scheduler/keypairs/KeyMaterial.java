package io.stratus.scheduler.keypairs;

/**
 * A generated keypair as the API hands it out once: the public part that is kept, the private
 * part that is not, and the public part's fingerprint.
 */
public record KeyMaterial(String publicKey, String privateKey, String fingerprint) {
}
