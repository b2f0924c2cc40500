package io.stratus.scheduler.metadata;

import java.nio.charset.StandardCharsets;
import java.security.SecureRandom;
import java.util.List;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Nova's metadata service behind Neutron's proxy ({@code nova/api/metadata/handler.py} with
 * {@code service_metadata_proxy}): the agents' proxies forward a guest's request with the
 * instance's id, its project and their signature of the id; a request is answered for that
 * instance only when the signature is right and the project is the instance's. Without a shared
 * secret nothing a proxy says can be trusted, and nothing is answered.
 */
public final class MetadataService {
    private static final Logger LOG = Logger.getLogger(MetadataService.class);
    /** Nova keeps a password in 4 × 255 characters of system metadata; a longer one is refused. */
    static final int MAX_PASSWORD_BYTES = 4 * 255;

    /**
     * @param sharedSecret what the proxies sign with; none: the service is not configured
     * @param dhcpDomain the domain of guests' hostnames (Nova's {@code dhcp_domain}), if any
     */
    public record Settings(Optional<String> sharedSecret, Optional<String> dhcpDomain) {
    }

    /**
     * What a proxy says of a request, each header as often as it came (Neutron's
     * {@code X-Instance-ID}, {@code X-Tenant-ID}, {@code X-Instance-ID-Signature}), and the
     * guest's address ({@code X-Forwarded-For}) for the logs.
     */
    public record ProxyHeaders(List<String> instanceId, List<String> tenantId, List<String> signature,
                               Optional<String> forwardedFor) {
        public ProxyHeaders {
            instanceId = List.copyOf(instanceId);
            tenantId = List.copyOf(tenantId);
            signature = List.copyOf(signature);
        }
    }

    private final MetadataSource source;
    private final Optional<ProxySignature> signature;
    private final Optional<String> dhcpDomain;
    private final SecureRandom random = new SecureRandom();

    public MetadataService(MetadataSource source, Settings settings) {
        this.source = source;
        this.signature = settings.sharedSecret().filter(s -> !s.isEmpty()).map(ProxySignature::new);
        this.dhcpDomain = settings.dhcpDomain();
        if (signature.isEmpty()) {
            LOG.warn("stratus.metadata.shared-secret is not set: the metadata service answers 503 to every request");
        }
    }

    /**
     * What {@code path} answers for the instance the proxy names; the guest's password for its
     * {@code password} path. The version listing at {@code /} needs no instance, as in Nova.
     *
     * @throws MetadataException NOT_CONFIGURED, BAD_REQUEST, FORBIDDEN, NOT_FOUND as Nova's handler refuses
     */
    public MetadataAnswer.Content get(ProxyHeaders headers, String path) {
        configured();
        if (InstanceMetadata.normalize(path).isEmpty()) {
            return InstanceMetadata.versions();
        }
        InstanceFacts facts = authenticate(headers);
        MetadataAnswer answer = metadata(facts, headers.forwardedFor()).lookup(path);
        if (answer instanceof MetadataAnswer.Password) {
            // Nova answers an unset password with an empty body.
            return new MetadataAnswer.Content(facts.password().orElse("").getBytes(StandardCharsets.UTF_8),
                    "text/plain");
        }
        return (MetadataAnswer.Content) answer;
    }

    /**
     * Sets the guest's password at {@code path} (a {@code password} path) to {@code body}, once,
     * as Nova's {@code handle_password}: 409 when it has one, 400 when it is too long.
     */
    public void post(ProxyHeaders headers, String path, byte[] body) {
        configured();
        InstanceFacts facts = authenticate(headers);
        if (!(metadata(facts, headers.forwardedFor()).lookup(path) instanceof MetadataAnswer.Password)) {
            throw new MetadataException(MetadataException.Kind.BAD_REQUEST, "only a password path takes a POST");
        }
        if (facts.password().isPresent()) {
            throw new MetadataException(MetadataException.Kind.CONFLICT, "the instance's password is set already");
        }
        if (body.length > MAX_PASSWORD_BYTES) {
            throw new MetadataException(MetadataException.Kind.BAD_REQUEST, "Request is too large.");
        }
        String password = new String(body, StandardCharsets.UTF_8);
        // An empty post leaves none set, as in Nova (its chunks are then all empty).
        if (!password.isEmpty() && !source.setPassword(facts.server().id(), password)) {
            throw new MetadataException(MetadataException.Kind.CONFLICT, "the instance's password is set already");
        }
    }

    /** The files of the config drive of the instance the proxy names. */
    public List<ConfigDriveFile> configDrive(ProxyHeaders headers) {
        configured();
        // The drive is made at boot, not asked for by the guest: no address of its own to fall back on.
        return metadata(authenticate(headers), Optional.empty()).configDriveFiles();
    }

    private InstanceMetadata metadata(InstanceFacts facts, Optional<String> address) {
        return new InstanceMetadata(facts, address, dhcpDomain, random);
    }

    private void configured() {
        if (signature.isEmpty()) {
            throw new MetadataException(MetadataException.Kind.NOT_CONFIGURED, "the metadata service is not"
                    + " configured: set stratus.metadata.shared-secret, the secret the agents' metadata proxies"
                    + " sign with");
        }
    }

    /** The instance a request is for, once its proxy's word holds (Nova's _handle_instance_id_request). */
    private InstanceFacts authenticate(ProxyHeaders h) {
        String missing = h.instanceId().isEmpty() ? "X-Instance-ID" : h.signature().isEmpty()
                ? "X-Instance-ID-Signature" : h.tenantId().isEmpty() ? "X-Tenant-ID" : null;
        if (missing != null) {
            throw new MetadataException(MetadataException.Kind.BAD_REQUEST, missing
                    + " header is missing from request.");
        }
        if (h.instanceId().size() > 1 || h.tenantId().size() > 1) {
            throw new MetadataException(MetadataException.Kind.BAD_REQUEST, "Multiple "
                    + (h.instanceId().size() > 1 ? "X-Instance-ID" : "X-Tenant-ID") + " headers found within request.");
        }
        String instanceId = h.instanceId().get(0);
        String from = h.forwardedFor().orElse("an unnamed address");
        if (!signature.orElseThrow().verifies(instanceId, h.signature().get(0))) {
            LOG.warnf("metadata request for instance %s from %s: X-Instance-ID-Signature does not match", instanceId,
                    from);
            throw new MetadataException(MetadataException.Kind.FORBIDDEN, "Invalid proxy request signature.");
        }
        InstanceFacts facts = source.find(instanceId).orElseThrow(() -> {
            LOG.infof("metadata request for instance %s from %s: no such instance", instanceId, from);
            return instanceNotFound(instanceId);
        });
        if (!facts.server().projectId().equals(h.tenantId().get(0))) {
            LOG.warnf("metadata request for instance %s from %s: tenant %s is not the instance's", instanceId, from,
                    h.tenantId().get(0));
            throw instanceNotFound(instanceId);
        }
        LOG.debugf("metadata request for instance %s from %s", instanceId, from);
        return facts;
    }

    private static MetadataException instanceNotFound(String id) {
        return MetadataException.notFound("Instance " + id + " could not be found.");
    }
}
