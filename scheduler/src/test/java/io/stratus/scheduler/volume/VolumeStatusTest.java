package io.stratus.scheduler.volume;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

/** Cinder's status machine as the table says it. */
class VolumeStatusTest {
    @Test
    void aVolumeInUseCannotBeDeletedButAnAvailableOrFailedOneCan() {
        assertThat(VolumeStatus.before(VolumeStatus.DELETING)).contains(VolumeStatus.AVAILABLE, VolumeStatus.ERROR,
                VolumeStatus.ERROR_DELETING).doesNotContain(VolumeStatus.IN_USE, VolumeStatus.ATTACHING,
                VolumeStatus.CREATING, VolumeStatus.DETACHING);
    }

    @Test
    void anAttachEitherCompletesOrFallsBackToAvailable() {
        assertThat(VolumeStatus.AVAILABLE.mayBecome(VolumeStatus.ATTACHING)).isTrue();
        assertThat(VolumeStatus.ATTACHING.mayBecome(VolumeStatus.IN_USE)).isTrue();
        assertThat(VolumeStatus.ATTACHING.mayBecome(VolumeStatus.AVAILABLE)).isTrue();
        assertThat(VolumeStatus.IN_USE.mayBecome(VolumeStatus.DETACHING)).isTrue();
        assertThat(VolumeStatus.DETACHING.mayBecome(VolumeStatus.AVAILABLE)).isTrue();
        assertThat(VolumeStatus.CREATING.mayBecome(VolumeStatus.ATTACHING)).isFalse();
        assertThat(VolumeStatus.AVAILABLE.mayBecome(VolumeStatus.DETACHING)).isFalse();
    }

    @Test
    void onlyAnAvailableVolumeIsExtended() {
        assertThat(VolumeStatus.before(VolumeStatus.EXTENDING)).contains(VolumeStatus.AVAILABLE)
                .doesNotContain(VolumeStatus.CREATING, VolumeStatus.DELETING);
    }

    @Test
    void apiNamesAreCindersAndReadBack() {
        assertThat(VolumeStatus.IN_USE.apiName()).isEqualTo("in-use");
        assertThat(VolumeStatus.ERROR_DELETING.apiName()).isEqualTo("error_deleting");
        for (VolumeStatus s : VolumeStatus.values()) {
            assertThat(VolumeStatus.ofApiName(s.apiName())).contains(s);
        }
        assertThat(VolumeStatus.ofApiName("in_use")).isEmpty();
    }
}
