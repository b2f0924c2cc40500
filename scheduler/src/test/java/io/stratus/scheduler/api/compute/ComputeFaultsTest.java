package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.scheduler.exception.ComputeException;
import io.stratus.scheduler.exception.Conflict;
import io.stratus.scheduler.exception.Forbidden;
import io.stratus.scheduler.exception.InstanceInvalidState;
import io.stratus.scheduler.exception.InvalidRequest;
import io.stratus.scheduler.exception.NoValidHost;
import io.stratus.scheduler.exception.NotFound;
import io.stratus.scheduler.exception.OverLimit;
import io.stratus.scheduler.exception.ServiceUnavailable;
import io.stratus.scheduler.exception.Unauthenticated;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The compute service's refusals leave the API with the status codes and Nova bodies clients got before. */
class ComputeFaultsTest {
    private static Response render(ComputeException e) {
        return new ComputeFaults().toResponse(e);
    }

    @SuppressWarnings("unchecked")
    private static Map<String, Object> body(Response r, String name) {
        return (Map<String, Object>) ((Map<String, Object>) r.getEntity()).get(name);
    }

    @Test
    void eachRefusalHasNovasStatusAndName() {
        Map<ComputeException, String> expected = Map.of(
                new InstanceInvalidState("Cannot 'pause' instance s1 while it is in vm_state paused"),
                "409 conflictingRequest",
                new Conflict("its image was deleted"), "409 conflictingRequest",
                new NoValidHost("No valid host was found. There are not enough hosts available."), "400 badRequest",
                new InvalidRequest("Compute host h9 could not be found."), "400 badRequest",
                new NotFound("Instance s1 could not be found."), "404 itemNotFound",
                new Forbidden("The image service refused the image: not yours"), "403 forbidden",
                new OverLimit("The image service refused the image: too large"), "413 overLimit",
                new ServiceUnavailable("'pause' could not be handed to host h1; try again: gone"),
                "503 serviceUnavailable",
                new Unauthenticated("The request you have made requires authentication."), "401 unauthorized");
        expected.forEach((e, statusAndName) -> {
            Response r = render(e);
            String name = statusAndName.substring(4);
            assertThat(r.getStatus() + " " + name).as(e.getClass().getSimpleName()).isEqualTo(statusAndName);
            assertThat(body(r, name)).as(e.getClass().getSimpleName())
                    .containsEntry("code", r.getStatus()).containsEntry("message", e.getMessage());
            // Keystone's challenge: clients (keystoneauth) look for it to know where to authenticate.
            assertThat(r.getHeaderString("WWW-Authenticate")).as(e.getClass().getSimpleName())
                    .isEqualTo(r.getStatus() == 401 ? "Keystone uri=\"/identity/v3\"" : null);
        });
    }

    @Test
    void everyKindHasAStatus() {
        for (ComputeException.Kind kind : ComputeException.Kind.values()) {
            assertThat(ComputeFaults.status(kind)).as(kind.name()).isBetween(400, 599);
        }
    }
}
