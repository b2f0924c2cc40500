package io.stratus.scheduler.keypairs;

import java.util.Optional;

/** Nova's keypair types: an OpenSSH key, or an X.509 client certificate (for WinRM). */
public enum KeyType {
    SSH("ssh"),
    X509("x509");

    private final String apiName;

    KeyType(String apiName) {
        this.apiName = apiName;
    }

    /** The name in the API's {@code type} field. */
    public String apiName() {
        return apiName;
    }

    public static Optional<KeyType> ofApiName(String name) {
        for (KeyType t : values()) {
            if (t.apiName.equals(name)) {
                return Optional.of(t);
            }
        }
        return Optional.empty();
    }

    /**
     * The fingerprint of an imported public key of this type, as Nova computes it.
     *
     * @throws InvalidKeypairException when the key is not a valid key of this type
     */
    public String fingerprint(String publicKey) {
        return this == SSH ? SshPublicKey.parse(publicKey).fingerprint() : ClientCertificate.parse(publicKey).fingerprint();
    }

    /** A new keypair of this type for {@code userId} (2048-bit RSA either way, as Nova makes them). */
    public KeyMaterial generate(String userId) {
        return this == SSH ? SshPublicKey.generate() : ClientCertificate.generate(userId);
    }
}
