package io.stratus.scheduler.metadata;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** A proxy's signature is Neutron's and Nova's: the hex HMAC-SHA256 of the instance id. */
class ProxySignatureTest {
    private static final String ID = "6f1a2b3c-0000-4000-8000-000000000001";
    /** Python: hmac.new(b"it-shared-secret", ID.encode(), hashlib.sha256).hexdigest(). */
    private static final String PYTHONS = "71d4233f5a2915493ac0b52aa0ae167a9c9cd6cbc55902efb0dfbfff343bcccb";

    @Test
    void signsAsPythonsHmacDoes() {
        assertThat(new ProxySignature("it-shared-secret").sign(ID)).isEqualTo(PYTHONS);
    }

    @Test
    void verifiesTheRightSignatureOnly() {
        ProxySignature s = new ProxySignature("it-shared-secret");
        assertThat(s.verifies(ID, PYTHONS)).isTrue();
        assertThat(s.verifies(ID, PYTHONS.toUpperCase())).as("hexdigest is lower case").isFalse();
        assertThat(s.verifies(ID, PYTHONS.substring(1))).isFalse();
        assertThat(s.verifies(ID, "")).isFalse();
        assertThat(s.verifies(ID, null)).isFalse();
        assertThat(s.verifies(ID.replace('1', '2'), PYTHONS)).as("another instance").isFalse();
        assertThat(new ProxySignature("another-secret").verifies(ID, PYTHONS)).isFalse();
    }

    @Test
    void refusesAnEmptySecret() {
        assertThatThrownBy(() -> new ProxySignature("")).isInstanceOf(IllegalArgumentException.class);
    }
}
