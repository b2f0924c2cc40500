package io.stratus.scheduler.keypairs;

import java.time.Instant;

/**
 * A user's named public key (Nova's key pair): what servers booted with {@code key_name} get.
 * Its private part, if Stratus generated it, was handed out once and is not kept.
 *
 * @param id the record's number, which Nova shows
 * @param fingerprint MD5 of the SSH key blob, or SHA-1 of the certificate, in colon-separated hex
 */
public record Keypair(long id, String userId, String name, KeyType type, String publicKey, String fingerprint,
                      Instant createdAt) {
}
