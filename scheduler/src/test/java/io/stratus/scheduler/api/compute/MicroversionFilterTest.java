package io.stratus.scheduler.api.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.stratus.api.ApiException;
import org.junit.jupiter.api.Test;

/** How a request's compute microversion is read from its headers, as Nova (microversion_parse) reads it. */
class MicroversionFilterTest {
    private final MicroversionFilter filter = new MicroversionFilter();

    private Microversion served(FakeRequest r) {
        filter.filter(r.context());
        return Microversion.of(r.context());
    }

    @Test
    void noHeaderIsTwoOne() {
        assertThat(served(new FakeRequest("/compute/v2.1/servers"))).isEqualTo(Microversion.MIN);
        assertThat(Microversion.MIN).hasToString("2.1");
    }

    @Test
    void readsTheStandardHeaderBeforeTheLegacyOne() {
        assertThat(served(new FakeRequest("/compute/v2.1/os-keypairs")
                .header("OpenStack-API-Version", "compute 2.1")
                .header("X-OpenStack-Nova-API-Version", Microversion.MAX.toString()))).isEqualTo(Microversion.MIN);
        assertThat(served(new FakeRequest("/compute/v2.1/os-keypairs")
                .header("X-OpenStack-Nova-API-Version", Microversion.MAX.toString()))).isEqualTo(Microversion.MAX);
    }

    @Test
    void takesTheComputeEntryOfTheStandardHeaderAndTheLastLegacyValue() {
        assertThat(served(new FakeRequest("/compute/v2.1")
                .header("OpenStack-API-Version", "image 2.9, COMPUTE  latest ,identity 3.0")))
                .isEqualTo(Microversion.MAX);
        // A standard header for other services only: the legacy header decides.
        assertThat(served(new FakeRequest("/compute/v2.1").header("OpenStack-API-Version", "volume 3.5")
                .header("X-OpenStack-Nova-API-Version", "3.0, 2.1"))).isEqualTo(Microversion.MIN);
        assertThat(served(new FakeRequest("/compute/v2.1").header("OpenStack-API-Version", "compute 2.1")
                .header("OpenStack-API-Version", "compute latest"))).isEqualTo(Microversion.MAX);
    }

    @Test
    void aMalformedVersionIs400AndOneOutOfRange406() {
        for (String bad : new String[] {"2", "2.01", "02.1", "2.1.1", "v2.1", "2.x", "", "LATEST", "-2.1"}) {
            assertThatThrownBy(() -> served(new FakeRequest("/compute/v2.1/servers")
                    .header("X-OpenStack-Nova-API-Version", bad))).as(bad).isInstanceOf(ApiException.class)
                    .hasMessageContaining("is of invalid format")
                    .satisfies(e -> assertThat(((ApiException) e).status()).isEqualTo(400));
        }
        for (String far : new String[] {"2.0", "1.1", "3.0", "2.999", "2.99999999999999"}) {
            assertThatThrownBy(() -> served(new FakeRequest("/compute/v2.1/servers")
                    .header("OpenStack-API-Version", "compute " + far))).as(far).isInstanceOf(ApiException.class)
                    .hasMessage("Version " + far + " is not supported by the API. Minimum is 2.1 and maximum is "
                            + Microversion.MAX + ".")
                    .satisfies(e -> assertThat(((ApiException) e).status()).isEqualTo(406));
        }
    }

    @Test
    void theDiscoveryDocumentAndOtherApisAreNotVersioned() {
        FakeRequest root = new FakeRequest("/compute").header("OpenStack-API-Version", "compute 9.9");
        filter.filter(root.context());
        assertThat(Microversion.attached(root.context())).isFalse();
        FakeRequest identity = new FakeRequest("/identity/v3/projects").header("X-OpenStack-Nova-API-Version", "x");
        filter.filter(identity.context());
        assertThat(Microversion.attached(identity.context())).isFalse();
    }

    @Test
    void comparesByMajorThenMinor() {
        Microversion v = Microversion.parse("2.10");
        assertThat(v.atLeast(2, 2)).isTrue();
        assertThat(v.atLeast(2, 11)).isFalse();
        assertThat(v.atLeast(3, 0)).isFalse();
        assertThat(Microversion.parse("2.0").servable()).isFalse();
    }
}
