package io.stratus.scheduler.api.compute;

import com.fasterxml.jackson.databind.JsonNode;
import io.stratus.api.ApiException;
import io.stratus.scheduler.network.IpAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * The {@code networks} of a server create as Nova reads them: a list of NICs (a network's uuid,
 * optionally with a fixed IP, or a port), or from 2.37 the words {@code auto} and {@code none}.
 * Left out, it means {@code auto} (Nova's "the one network available, else none").
 *
 * @param nics   the NICs asked for, in order; empty for auto and none
 * @param choice what the request left to the cloud
 */
public record RequestedNetworks(List<Nic> nics, Choice choice) {
    private static final Pattern UUID = Pattern.compile(
            "[0-9a-fA-F]{8}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{4}-?[0-9a-fA-F]{12}");

    public enum Choice {
        /** The NICs listed, nothing else. */
        LISTED,
        /** The one network the project can use, or none when there is none. */
        AUTO,
        /** No NIC at all. */
        NONE
    }

    /** One NIC: on a network (optionally at a fixed IP) or on an existing port. */
    public record Nic(Optional<String> networkId, Optional<String> portId, Optional<String> fixedIp) {
    }

    public RequestedNetworks {
        nics = List.copyOf(nics);
    }

    /** Reads {@code networks} of a create request at compute microversion {@code minor} (2.minor). */
    public static RequestedNetworks read(JsonNode networks, int minor) {
        if (networks == null || networks.isNull()) {
            return new RequestedNetworks(List.of(), Choice.AUTO);
        }
        if (networks.isTextual()) {
            String word = networks.asText();
            if (minor < 37 || !(word.equals("auto") || word.equals("none"))) {
                throw ApiException.badRequest("Invalid input for field/attribute networks. Value: " + word + ". "
                        + (minor < 37 ? "'" + word + "' is not of type 'array'"
                        : "'" + word + "' is not one of ['auto', 'none'] and not an array of networks"));
            }
            return new RequestedNetworks(List.of(), word.equals("auto") ? Choice.AUTO : Choice.NONE);
        }
        if (!networks.isArray()) {
            throw ApiException.badRequest("Invalid input for field/attribute networks: it is a list of networks");
        }
        if (networks.isEmpty()) {
            // Before 2.37 an empty list asks for no NIC; from 2.37 a list must name one.
            if (minor >= 37) {
                throw ApiException.badRequest("Invalid input for field/attribute networks: the list is empty");
            }
            return new RequestedNetworks(List.of(), Choice.NONE);
        }
        List<Nic> nics = new ArrayList<>();
        for (JsonNode n : networks) {
            if (!n.isObject()) {
                throw ApiException.badRequest("Invalid input for field/attribute networks: each is an object");
            }
            Optional<String> port = text(n, "port");
            Optional<String> network = text(n, "uuid");
            Optional<String> fixedIp = text(n, "fixed_ip");
            port.ifPresent(p -> {
                if (!UUID.matcher(p).matches()) {
                    throw ApiException.badRequest("Invalid input for field/attribute port. Value: " + p
                            + ". '" + p + "' is not a 'uuid'");
                }
            });
            if (port.isEmpty() && network.isEmpty()) {
                throw ApiException.badRequest("Bad networks format: a network needs a 'uuid' or a 'port'");
            }
            network.ifPresent(u -> {
                if (!UUID.matcher(u).matches()) {
                    throw ApiException.badRequest("Bad networks format: network uuid is not in proper format (" + u
                            + ")");
                }
            });
            Optional<String> address = fixedIp.map(ip -> IpAddress.parse(ip).map(IpAddress::toString)
                    .orElseThrow(() -> ApiException.badRequest("Invalid input for field/attribute fixed_ip. Value: "
                            + ip + ". '" + ip + "' is not a 'ip-address'")));
            if (port.isPresent()) {
                // Nova: a port brings its own network and addresses; the others are ignored.
                nics.add(new Nic(Optional.empty(), port, Optional.empty()));
            } else {
                nics.add(new Nic(network, Optional.empty(), address));
            }
        }
        return new RequestedNetworks(nics, Choice.LISTED);
    }

    private static Optional<String> text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        if (v == null || v.isNull()) {
            return Optional.empty();
        }
        if (!v.isTextual()) {
            throw ApiException.badRequest("Invalid input for field/attribute " + field + ": it is a string");
        }
        return Optional.of(v.asText());
    }
}
