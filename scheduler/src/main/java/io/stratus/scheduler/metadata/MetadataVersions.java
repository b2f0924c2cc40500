package io.stratus.scheduler.metadata;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * The versions of the two metadata layouts, as Nova 26 serves them ({@code nova/api/metadata/base.py}
 * {@code VERSIONS} and {@code OPENSTACK_VERSIONS}): each names what a layout had at that date, and
 * {@code latest} is the newest. What a version adds is asked with {@link #ec2AtLeast} and
 * {@link #openstackAtLeast}.
 */
public final class MetadataVersions {
    public static final String LATEST = "latest";

    /** EC2's dated versions, oldest first. */
    public static final List<String> EC2 = List.of("1.0", "2007-01-19", "2007-03-01", "2007-08-29", "2007-10-10",
            "2007-12-15", "2008-02-01", "2008-09-01", "2009-04-04");

    public static final String FOLSOM = "2012-08-10";
    public static final String GRIZZLY = "2013-04-04";
    public static final String HAVANA = "2013-10-17";
    public static final String LIBERTY = "2015-10-15";
    public static final String NEWTON_ONE = "2016-06-30";
    public static final String NEWTON_TWO = "2016-10-06";
    public static final String OCATA = "2017-02-22";
    public static final String ROCKY = "2018-08-27";
    public static final String VICTORIA = "2020-10-14";

    /** OpenStack's dated versions, oldest first. */
    public static final List<String> OPENSTACK = List.of(FOLSOM, GRIZZLY, HAVANA, LIBERTY, NEWTON_ONE, NEWTON_TWO,
            OCATA, ROCKY, VICTORIA);

    /**
     * The EC2 versions a config drive carries: Nova's {@code config_drive_skip_versions} leaves out
     * all but the newest dated one.
     */
    public static final List<String> EC2_ON_CONFIG_DRIVE = List.of("2009-04-04", LATEST);

    private MetadataVersions() {
    }

    /** The EC2 version {@code asked} means ({@code latest}: the newest), if it is one. */
    public static Optional<String> ec2(String asked) {
        String v = asked.equals(LATEST) ? EC2.get(EC2.size() - 1) : asked;
        return EC2.contains(v) ? Optional.of(v) : Optional.empty();
    }

    /** The OpenStack version {@code asked} means ({@code latest}: the newest), if it is one. */
    public static Optional<String> openstack(String asked) {
        String v = asked.equals(LATEST) ? OPENSTACK.get(OPENSTACK.size() - 1) : asked;
        return OPENSTACK.contains(v) ? Optional.of(v) : Optional.empty();
    }

    /** Whether EC2 version {@code version} (a dated one) has what {@code required} brought. */
    public static boolean ec2AtLeast(String version, String required) {
        return EC2.indexOf(version) >= EC2.indexOf(required);
    }

    /** Whether OpenStack version {@code version} (a dated one) has what {@code required} brought. */
    public static boolean openstackAtLeast(String version, String required) {
        return OPENSTACK.indexOf(version) >= OPENSTACK.indexOf(required);
    }

    /** The listing of {@code /}: the EC2 versions, then {@code latest}. */
    public static List<String> ec2Listing() {
        List<String> out = new ArrayList<>(EC2);
        out.add(LATEST);
        return out;
    }

    /** The listing of {@code /openstack}: the OpenStack versions, then {@code latest}. */
    public static List<String> openstackListing() {
        List<String> out = new ArrayList<>(OPENSTACK);
        out.add(LATEST);
        return out;
    }
}
