package io.stratus.agent.metadata;

import io.stratus.agent.guest.ConfigDriveException;
import io.stratus.agent.guest.ConfigDrives;
import io.stratus.agent.instance.InstanceRecord;
import io.stratus.agent.virt.GuestSpec;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import org.jboss.logging.Logger;

/**
 * Config drives from the control plane's metadata API: {@code GET <api>/config-drive} for the
 * instance (signed like a proxied request, with the tenant of its Boot), the listing checked
 * ({@link ConfigDriveFiles}) and written as an ISO ({@link ConfigDriveIso}) once; a drive that is
 * there is used as it is.
 */
public final class MetadataConfigDrives implements ConfigDrives {
    private static final Logger LOG = Logger.getLogger(MetadataConfigDrives.class);
    private static final String PATH = "config-drive";
    private static final int MAX_QUOTED = 200;

    private final ControlPlaneMetadata controlPlane;
    private final ConfigDriveIso iso;

    public MetadataConfigDrives(ControlPlaneMetadata controlPlane, ConfigDriveIso iso) {
        this.controlPlane = controlPlane;
        this.iso = iso;
    }

    @Override
    public Optional<GuestSpec.Disk> drive(InstanceRecord rec, Path instanceDir) {
        if (!rec.boot().getConfigDrive()) {
            return Optional.empty();
        }
        Path file = instanceDir.resolve(FILE);
        if (Files.exists(file)) {
            return Optional.of(ConfigDrives.disk(instanceDir));
        }
        String id = rec.id();
        try {
            ConfigDriveIso.removeLeftovers(file);
            ControlPlaneMetadata.Answer a = controlPlane.request("GET", PATH, new byte[0],
                    new ControlPlaneMetadata.Caller(id, rec.tenantId(), Optional.empty()));
            if (a.status() != 200) {
                throw new ConfigDriveException("the config drive of instance " + id + " cannot be made: the metadata"
                        + " API answered " + a.status() + quoted(a.body()));
            }
            ConfigDriveFiles files = ConfigDriveFiles.parse(a.body());
            iso.write(files, file);
            LOG.infof("instance %s: config drive of %d files made (%d bytes)", id, files.files().size(),
                    Files.size(file));
            return Optional.of(ConfigDrives.disk(instanceDir));
        } catch (ControlPlaneMetadata.UnavailableException e) {
            throw new ConfigDriveException("the config drive of instance " + id + " cannot be made: "
                    + e.getMessage(), e);
        } catch (ConfigDriveFiles.InvalidException e) {
            throw new ConfigDriveException("the config drive of instance " + id + " is refused: " + e.getMessage(), e);
        } catch (IOException e) {
            throw new ConfigDriveException("the config drive of instance " + id + " cannot be written in "
                    + instanceDir + ": " + e.getMessage(), e);
        }
    }

    private static String quoted(byte[] body) {
        String text = new String(body, 0, Math.min(body.length, MAX_QUOTED), StandardCharsets.UTF_8).trim()
                .replaceAll("\\p{Cntrl}", " ");
        return text.isEmpty() ? "" : ": " + text;
    }
}
