package io.stratus.local.pki;

import java.nio.file.Path;
import java.util.Objects;

/**
 * A principal's TLS material as PEM files, the shape Kafka ({@code ssl.keystore.type=PEM}),
 * Quarkus and gRPC all read.
 *
 * @param principal the certificate's common name, which Kafka's principal mapping and the gRPC
 *                  peers take as the caller's name
 * @param privateKey the unencrypted PKCS#8 key ({@code -----BEGIN PRIVATE KEY-----}), 0600
 * @param certificateChain the leaf certificate followed by the CA's
 * @param caCertificate the CA certificate alone: what a peer trusts
 */
public record IssuedIdentity(String principal, Path privateKey, Path certificateChain, Path caCertificate) {
    public IssuedIdentity {
        Objects.requireNonNull(principal, "principal");
        Objects.requireNonNull(privateKey, "privateKey");
        Objects.requireNonNull(certificateChain, "certificateChain");
        Objects.requireNonNull(caCertificate, "caCertificate");
    }

    /** The directory that holds the three files. */
    public Path directory() {
        return privateKey.toAbsolutePath().getParent();
    }
}
