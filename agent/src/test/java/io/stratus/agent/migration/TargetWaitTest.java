package io.stratus.agent.migration;

import static org.assertj.core.api.Assertions.assertThat;

import io.grpc.Status;
import java.time.Duration;
import org.junit.jupiter.api.Test;

class TargetWaitTest {
    private static final long S = 1_000_000_000L;
    private final TargetWait wait = new TargetWait(0, Duration.ofSeconds(120), Duration.ofSeconds(10));

    @Test
    void aTargetNeverReachedIsGivenUpAfterTheGrace() {
        assertThat(wait.after(Status.Code.UNAVAILABLE, 1 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 10 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 12 * S)).get().asString()
                .startsWith("it could not be reached for 10 s");
    }

    @Test
    void aTargetStillPreparingIsWaitedFor() {
        assertThat(wait.after(Status.Code.NOT_FOUND, 5 * S)).isEmpty();
        assertThat(wait.after(Status.Code.NOT_FOUND, 100 * S)).isEmpty();
        assertThat(wait.after(Status.Code.NOT_FOUND, 121 * S)).isPresent();
    }

    @Test
    void aTargetThatAnsweredAndThenCannotBeReachedIsGivenUpAfterTheGrace() {
        assertThat(wait.after(Status.Code.NOT_FOUND, 5 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 6 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 15 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 17 * S)).get().asString().contains("its agent stopped");
    }

    @Test
    void aConnectionDroppedOnceAndBackDoesNotCountAgainstTheNextLoss() {
        assertThat(wait.after(Status.Code.NOT_FOUND, 1 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 2 * S)).isEmpty();
        assertThat(wait.after(Status.Code.NOT_FOUND, 9 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 20 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 29 * S)).isEmpty();
        assertThat(wait.after(Status.Code.UNAVAILABLE, 31 * S)).isPresent();
    }

    @Test
    void anyOtherAnswerIsARefusal() {
        assertThat(wait.after(Status.Code.PERMISSION_DENIED, 1 * S)).get().asString().contains("PERMISSION_DENIED");
    }

    @Test
    void theNextHelloWaitsNoLongerThanWhatIsLeft() {
        assertThat(wait.left(100 * S)).isEqualTo(20 * S);
        assertThat(wait.left(130 * S)).isEqualTo(1_000_000);
    }
}
