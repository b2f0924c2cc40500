package io.stratus.kvm.vm;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.kvm.vm.Lifecycle.Phase;
import org.junit.jupiter.api.Test;

/** The VM's transition table, without KVM. */
class LifecycleTest {
    @Test
    void aBootedGuestRunsPausesResumesExitsAndCloses() {
        Lifecycle l = new Lifecycle("vm");
        assertThat(l.state()).isEqualTo(VirtualMachine.State.CREATED);
        for (Phase p : new Phase[] {Phase.RUNNING, Phase.PAUSED, Phase.RUNNING, Phase.EXITED, Phase.CLOSED}) {
            l.move(p);
            assertThat(l.phase()).isEqualTo(p);
        }
        assertThat(l.state()).isEqualTo(VirtualMachine.State.CLOSED);
    }

    @Test
    void aHeldTargetShowsAsPausedAndGoesStraightToRunning() {
        Lifecycle l = new Lifecycle("vm");
        l.move(Phase.HELD);
        assertThat(l.state()).isEqualTo(VirtualMachine.State.PAUSED);
        assertThatThrownBy(() -> l.move(Phase.PAUSED)).isInstanceOf(IllegalStateException.class);
        l.move(Phase.RUNNING);
        assertThat(l.state()).isEqualTo(VirtualMachine.State.RUNNING);
    }

    @Test
    void refusesMovesTheTableLacksAndStaysWhereItWas() {
        Lifecycle l = new Lifecycle("vm");
        assertThatThrownBy(() -> l.move(Phase.PAUSED)).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("cannot go from CREATED to PAUSED");
        assertThat(l.phase()).isEqualTo(Phase.CREATED);
        l.move(Phase.RUNNING);
        assertThatThrownBy(() -> l.move(Phase.CLOSED)).as("a started VM's vCPUs are joined before it closes")
                .isInstanceOf(IllegalStateException.class);
        l.move(Phase.EXITED);
        assertThatThrownBy(() -> l.move(Phase.RUNNING)).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void nothingLeavesClosed() {
        for (Phase to : Phase.values()) {
            assertThat(Lifecycle.allowed(Phase.CLOSED, to)).as("CLOSED to " + to).isFalse();
        }
    }

    @Test
    void aNeverStartedVmClosesDirectly() {
        Lifecycle l = new Lifecycle("vm");
        l.move(Phase.CLOSED);
        assertThat(l.state()).isEqualTo(VirtualMachine.State.CLOSED);
    }
}
