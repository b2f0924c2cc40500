package io.stratus.scheduler.api.compute;

import jakarta.ws.rs.container.ContainerRequestContext;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A compute API microversion ({@code 2.2}): what a request asked for, after {@link
 * MicroversionFilter} read its headers; resources ask it whether a behaviour applies.
 */
record Microversion(int major, int minor) implements Comparable<Microversion> {
    /** The oldest version served: v2.1 as it first was. */
    static final Microversion MIN = new Microversion(2, 1);
    /**
     * The newest version served: every change of Nova's versions up to it is Stratus' too. 2.2:
     * keypairs have a type (ssh, x509); keypair create answers 201, delete 204. 2.3: admins see
     * more extended server attributes (reservation_id, launch_index, hostname, kernel_id,
     * ramdisk_id, root_device_name, user_data), and attached volumes their
     * delete_on_termination (Stratus attaches none yet). 2.4: os-fixed-ips shows reserved
     * (nova-network's, not served here). 2.5: members may filter servers by ip6 (always allowed
     * here). 2.6: {@code POST /servers/{id}/remote-consoles}.
     */
    static final Microversion MAX = new Microversion(2, 6);

    private static final Pattern FORMAT = Pattern.compile("([1-9][0-9]*)\\.([1-9][0-9]*|0)");
    private static final String PROPERTY = "stratus.compute.microversion";

    /**
     * Reads {@code X.Y} as Nova does (no leading zeros, no sign).
     *
     * @throws IllegalArgumentException in Nova's words when it is malformed
     */
    static Microversion parse(String text) {
        Matcher m = FORMAT.matcher(text);
        if (!m.matches()) {
            throw new IllegalArgumentException("API Version String " + text + " is of invalid format. Must be of format"
                    + " MajorNum.MinorNum.");
        }
        return new Microversion(number(m.group(1)), number(m.group(2)));
    }

    /** A part too large for an int is out of range anyway: it counts as the largest int. */
    private static int number(String digits) {
        return digits.length() > 9 ? Integer.MAX_VALUE : Integer.parseInt(digits);
    }

    /** The version a request is served at: the one its headers asked for, or 2.1 without any. */
    static Microversion of(ContainerRequestContext request) {
        Object v = request.getProperty(PROPERTY);
        return v instanceof Microversion m ? m : MIN;
    }

    void attachTo(ContainerRequestContext request) {
        request.setProperty(PROPERTY, this);
    }

    /** Whether the request's version was read (a v2.1 request that asked for a servable one, or none). */
    static boolean attached(ContainerRequestContext request) {
        return request.getProperty(PROPERTY) instanceof Microversion;
    }

    /** Whether the request asked for at least {@code major.minor}, i.e. gets that version's behaviour. */
    boolean atLeast(int major, int minor) {
        return compareTo(new Microversion(major, minor)) >= 0;
    }

    boolean servable() {
        return compareTo(MIN) >= 0 && compareTo(MAX) <= 0;
    }

    @Override
    public int compareTo(Microversion o) {
        return major != o.major ? Integer.compare(major, o.major) : Integer.compare(minor, o.minor);
    }

    @Override
    public String toString() {
        return major + "." + minor;
    }
}
