package io.stratus.agent.instance;

import static org.assertj.core.api.Assertions.assertThat;

import io.stratus.proto.v1.Boot;
import io.stratus.proto.v1.InstanceState;
import io.stratus.proto.v1.PowerState;
import io.stratus.proto.v1.Resources;
import io.stratus.proto.v1.TaskState;
import org.junit.jupiter.api.Test;

class InstanceRecordTest {
    private static final Boot BOOT = Boot.newBuilder().setName("vm")
            .setResources(Resources.newBuilder().setVcpus(1).setMemoryMib(64)).build();

    private static InstanceRecord building() {
        return InstanceRecord.building("i-1", "t1", BOOT, "req-1");
    }

    @Test
    void settledStatesSayWhetherTheGuestRuns() {
        assertThat(building().power()).isEqualTo(PowerState.POWER_STATE_UNSPECIFIED);
        assertThat(building().with(InstanceState.ACTIVE, TaskState.NONE).power()).isEqualTo(PowerState.POWER_RUNNING);
        assertThat(building().with(InstanceState.PAUSED, TaskState.NONE).power()).isEqualTo(PowerState.POWER_PAUSED);
        assertThat(building().with(InstanceState.SHUTOFF, TaskState.NONE).power())
                .isEqualTo(PowerState.POWER_SHUTDOWN);
    }

    @Test
    void statesInPassingKeepThePowerTheInstanceHad() {
        InstanceRecord stopped = building().with(InstanceState.SHUTOFF, TaskState.NONE);
        InstanceRecord running = building().with(InstanceState.ACTIVE, TaskState.NONE);
        for (InstanceState passing : new InstanceState[] {InstanceState.RESIZE, InstanceState.VERIFY_RESIZE,
                InstanceState.MIGRATING, InstanceState.REBOOT}) {
            assertThat(stopped.with(passing, TaskState.NONE).power()).as("%s of a stopped guest", passing)
                    .isEqualTo(PowerState.POWER_SHUTDOWN);
            assertThat(running.with(passing, TaskState.NONE).power()).as("%s of a running guest", passing)
                    .isEqualTo(PowerState.POWER_RUNNING);
        }
    }

    @Test
    void aRestartRunsWhatWasMeantToRun() {
        InstanceRecord stopped = building().with(InstanceState.SHUTOFF, TaskState.NONE);
        InstanceRecord running = building().with(InstanceState.ACTIVE, TaskState.NONE);
        assertThat(stopped.with(InstanceState.VERIFY_RESIZE, TaskState.NONE).meantToRun()).isFalse();
        assertThat(stopped.with(InstanceState.RESIZE, TaskState.RESIZE_FINISH).meantToRun()).isFalse();
        assertThat(running.with(InstanceState.VERIFY_RESIZE, TaskState.NONE).meantToRun()).isTrue();
        assertThat(running.with(InstanceState.PAUSED, TaskState.NONE).meantToRun()).isTrue();
        assertThat(running.with(InstanceState.ERROR, TaskState.NONE).withPower(PowerState.POWER_CRASHED)
                .meantToRun()).isFalse();
        // A build under way, and records from before the power was kept, go by their state.
        assertThat(building().meantToRun()).isTrue();
        assertThat(building().with(InstanceState.VERIFY_RESIZE, TaskState.NONE).meantToRun()).isTrue();
        assertThat(building().with(InstanceState.ERROR, TaskState.NONE).meantToRun()).isFalse();
    }
}
