package io.stratus.scheduler.api.compute;

import io.stratus.api.ApiException;
import io.stratus.proto.v1.InstanceState;
import io.stratus.scheduler.compute.Server;
import io.stratus.scheduler.console.ConsoleTokens;
import io.stratus.scheduler.console.SerialConsoleProxy;
import io.stratus.scheduler.service.SchedulerConfig;
import jakarta.enterprise.context.ApplicationScoped;
import jakarta.inject.Inject;

/**
 * The URL of a server's serial console for {@code remote-consoles} and {@code
 * os-getSerialConsole}: {@code ws://…/serial-console/?token=…} at this scheduler, with a fresh
 * one-time token. The checks are Nova's: only the serial console exists here, and only a running
 * server has one.
 */
@ApplicationScoped
class SerialConsoleUrls {
    @Inject
    ConsoleTokens tokens;
    @Inject
    SchedulerConfig config;

    /** @throws ApiException 400 for a console type other than serial, 409 for a server that is not running */
    String issue(Server s, String protocol, String type) {
        if (!"serial".equals(protocol)) {
            throw ApiException.badRequest("Unavailable console type " + protocol + ": this cloud serves the serial"
                    + " console only.");
        }
        if (!"serial".equals(type)) {
            throw ApiException.badRequest("Invalid console type " + type + " for protocol serial (it takes"
                    + " type serial).");
        }
        if (s.vmState() != InstanceState.ACTIVE || s.host().isEmpty()) {
            throw ApiException.conflict("Instance " + s.id() + " is not ready yet (status "
                    + Views.status(s.vmState(), s.taskState()) + "): only a running server has a console.");
        }
        String base = config.publicUrl().replaceFirst("^http", "ws").replaceAll("/+$", "");
        return base + SerialConsoleProxy.PATH + "/?token=" + tokens.issue(s.id());
    }
}
