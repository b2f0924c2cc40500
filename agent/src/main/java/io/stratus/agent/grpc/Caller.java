package io.stratus.agent.grpc;

import java.security.cert.CertificateParsingException;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Optional;
import javax.naming.InvalidNameException;
import javax.naming.ldap.LdapName;
import javax.naming.ldap.Rdn;

/**
 * Who called, as the TLS handshake proved it: the common name of the client certificate the CA
 * signed (the principal: {@code scheduler}, or an agent's host), and its DNS names.
 */
public record Caller(String principal, List<String> dnsNames) {
    /** DNS name entries of a subject alternative name (RFC 5280's GeneralName tag 2). */
    private static final int DNS_NAME = 2;

    /** Whether the certificate names {@code host}: its principal or one of its DNS names. */
    public boolean names(String host) {
        return principal.equals(host) || dnsNames.contains(host);
    }

    /** The caller a verified peer certificate shows; empty when it has no common name. */
    public static Optional<Caller> of(X509Certificate certificate) {
        String cn = null;
        try {
            for (Rdn rdn : new LdapName(certificate.getSubjectX500Principal().getName()).getRdns()) {
                if (rdn.getType().equalsIgnoreCase("CN")) {
                    cn = rdn.getValue().toString();
                }
            }
        } catch (InvalidNameException e) {
            return Optional.empty();
        }
        if (cn == null) {
            return Optional.empty();
        }
        List<String> dns = new ArrayList<>();
        try {
            Collection<List<?>> names = certificate.getSubjectAlternativeNames();
            if (names != null) {
                for (List<?> n : names) {
                    if (n.size() == 2 && n.get(0) instanceof Integer tag && tag == DNS_NAME) {
                        dns.add(n.get(1).toString());
                    }
                }
            }
        } catch (CertificateParsingException e) {
            // No usable names: the common name alone identifies it.
        }
        return Optional.of(new Caller(cn, List.copyOf(dns)));
    }
}
