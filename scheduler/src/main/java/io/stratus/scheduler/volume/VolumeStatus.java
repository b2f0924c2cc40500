package io.stratus.scheduler.volume;

import java.util.EnumSet;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Cinder's volume statuses and the moves between them, in one table: every status change goes
 * through {@link #mayBecome}, and the store changes a status only from one it expects (a
 * compare-and-set), so two requests cannot both start an operation on one volume.
 */
public enum VolumeStatus {
    CREATING, AVAILABLE, ATTACHING, IN_USE, DETACHING, EXTENDING, UPLOADING, DOWNLOADING, DELETING, ERROR,
    ERROR_DELETING, ERROR_EXTENDING, RESERVED, MAINTENANCE;

    private static final Map<VolumeStatus, Set<VolumeStatus>> NEXT = Map.ofEntries(
            Map.entry(CREATING, EnumSet.of(AVAILABLE, DOWNLOADING, ERROR)),
            Map.entry(DOWNLOADING, EnumSet.of(AVAILABLE, ERROR)),
            Map.entry(AVAILABLE, EnumSet.of(ATTACHING, RESERVED, EXTENDING, UPLOADING, DELETING, MAINTENANCE)),
            Map.entry(RESERVED, EnumSet.of(ATTACHING, AVAILABLE, IN_USE)),
            // A failed attach goes back; a multi-attach volume in use takes another attachment.
            Map.entry(ATTACHING, EnumSet.of(IN_USE, AVAILABLE, ERROR)),
            Map.entry(IN_USE, EnumSet.of(DETACHING, ATTACHING, UPLOADING, EXTENDING)),
            // The last attachment gone: available; others left: in-use again.
            Map.entry(DETACHING, EnumSet.of(AVAILABLE, IN_USE, ERROR)),
            Map.entry(EXTENDING, EnumSet.of(AVAILABLE, IN_USE, ERROR_EXTENDING)),
            Map.entry(UPLOADING, EnumSet.of(AVAILABLE, IN_USE, ERROR)),
            Map.entry(DELETING, EnumSet.of(ERROR_DELETING)),
            Map.entry(ERROR, EnumSet.of(DELETING)),
            Map.entry(ERROR_DELETING, EnumSet.of(DELETING)),
            Map.entry(ERROR_EXTENDING, EnumSet.of(DELETING, EXTENDING)),
            Map.entry(MAINTENANCE, EnumSet.of(AVAILABLE, ERROR)));

    /** The name Cinder uses ({@code in-use}, {@code error_deleting}). */
    public String apiName() {
        return this == IN_USE ? "in-use" : name().toLowerCase(Locale.ROOT);
    }

    public static Optional<VolumeStatus> ofApiName(String name) {
        for (VolumeStatus s : values()) {
            if (s.apiName().equals(name)) {
                return Optional.of(s);
            }
        }
        return Optional.empty();
    }

    public boolean mayBecome(VolumeStatus next) {
        return NEXT.getOrDefault(this, Set.of()).contains(next);
    }

    /** The statuses a volume may be in for it to become {@code next}. */
    public static Set<VolumeStatus> before(VolumeStatus next) {
        Set<VolumeStatus> from = EnumSet.noneOf(VolumeStatus.class);
        for (VolumeStatus s : values()) {
            if (s.mayBecome(next)) {
                from.add(s);
            }
        }
        return from;
    }
}
