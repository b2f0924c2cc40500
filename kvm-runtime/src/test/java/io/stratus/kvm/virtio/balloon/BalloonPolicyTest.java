package io.stratus.kvm.virtio.balloon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.memory.PageFootprint;
import java.util.List;
import org.junit.jupiter.api.Test;

class BalloonPolicyTest {
    private static final long MIB = 1L << 20;
    private static final long GIB = 1L << 30;
    private final BalloonPolicy policy = BalloonPolicy.defaults();

    private static BalloonPolicy.Guest guest(String name, long availableMiB, long residentMiB, long ksmMiB) {
        return new BalloonPolicy.Guest(name, GIB, 0, availableMiB * MIB,
                new PageFootprint(GIB, residentMiB * MIB, ksmMiB * MIB, 0));
    }

    @Test
    void asksTheGuestWithPrivateMemoryBeforeOneWhoseMemoryKsmShares() {
        BalloonPolicy.Guest shared = guest("shared", 600, 900, 850);
        BalloonPolicy.Guest own = guest("own", 600, 900, 0);
        BalloonPolicy.Plan plan = policy.reclaim(200 * MIB, List.of(shared, own));

        assertThat(plan.targets()).extracting(BalloonPolicy.Target::name).containsExactly("shared", "own");
        assertThat(plan.targets().get(0).inflateBytes()).isZero();
        BalloonPolicy.Target t = plan.targets().get(1);
        // 900 of 1024 MiB private: about 228 MiB of balloon for 200 MiB back.
        assertThat(t.inflateBytes()).isBetween(200 * MIB, 240 * MIB);
        assertThat(t.expectedHostBytes()).isGreaterThanOrEqualTo(200 * MIB);
        assertThat(plan.shortfallBytes()).isZero();
    }

    @Test
    void goesOnToTheNextGuestWhenTheFirstReachesItsReserve() {
        BalloonPolicy.Guest small = guest("small", 164, 1000, 0); // 164 - 102.4 reserve: 61 MiB to give
        BalloonPolicy.Guest other = guest("other", 800, 500, 0);
        BalloonPolicy.Plan plan = policy.reclaim(150 * MIB, List.of(small, other));

        assertThat(plan.targets().get(0).inflateBytes()).isEqualTo(61 * MIB);
        assertThat(plan.targets().get(1).inflateBytes()).isPositive();
        assertThat(plan.expectedHostBytes()).isGreaterThanOrEqualTo(150 * MIB);
        assertThat(plan.shortfallBytes()).isZero();
    }

    @Test
    void reportsWhatTheGuestsCannotGive() {
        BalloonPolicy.Guest a = guest("a", 200, 1000, 0);
        BalloonPolicy.Plan plan = policy.reclaim(4 * GIB, List.of(a));
        assertThat(plan.targets().get(0).inflateBytes()).isEqualTo(97 * MIB);
        assertThat(plan.shortfallBytes()).isEqualTo(4 * GIB - plan.expectedHostBytes());
    }

    @Test
    void leavesMostlySharedAndUnreportingGuestsAlone() {
        BalloonPolicy.Guest shared = guest("shared", 900, 1000, 990);
        BalloonPolicy.Guest silent = guest("silent", 0, 1000, 0);
        BalloonPolicy.Plan plan = policy.reclaim(100 * MIB, List.of(shared, silent));
        assertThat(plan.targets()).allSatisfy(t -> assertThat(t.inflateBytes()).isZero());
        assertThat(plan.shortfallBytes()).isEqualTo(100 * MIB);
    }

    @Test
    void addsToWhatTheBalloonAlreadyHolds() {
        BalloonPolicy.Guest g = new BalloonPolicy.Guest("g", GIB, 256 * MIB, 500 * MIB,
                new PageFootprint(GIB, 768 * MIB, 0, 0));
        BalloonPolicy.Target t = policy.reclaim(100 * MIB, List.of(g)).targets().get(0);
        assertThat(t.balloonBytes()).isEqualTo(256 * MIB + t.inflateBytes());
        assertThat(t.inflateBytes()).isEqualTo(100 * MIB); // all 768 MiB unballooned are private
    }

    @Test
    void nothingWantedChangesNothing() {
        BalloonPolicy.Plan plan = policy.reclaim(0, List.of(guest("a", 800, 900, 0)));
        assertThat(plan.targets().get(0).inflateBytes()).isZero();
        assertThat(plan.expectedHostBytes()).isZero();
    }

    @Test
    void rejectsInconsistentFigures() {
        assertThatThrownBy(() -> new BalloonPolicy.Guest("x", GIB, 2 * GIB, 0, new PageFootprint(GIB, 0, 0, 0)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("x");
        assertThatThrownBy(() -> new PageFootprint(GIB, MIB, 2 * MIB, 0)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> new BalloonPolicy(0, 1.5, 0)).isInstanceOf(IllegalArgumentException.class);
    }
}
