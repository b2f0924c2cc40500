package io.stratus.scheduler.compute;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import org.junit.jupiter.api.Test;

/**
 * User data is decoded as Python's {@code base64.b64decode} decodes it (Nova's format check and
 * metadata service): the expectations are Python 3.11's answers for the same text.
 */
class UserDataTest {
    private static String decoded(String text) {
        return new String(UserData.decode(text), StandardCharsets.US_ASCII);
    }

    @Test
    void decodesWhatPythonDecodes() {
        assertThat(decoded("aGVsbG8=")).isEqualTo("hello");
        assertThat(decoded("aGVsbA==")).isEqualTo("hell");
        // Outside the alphabet is skipped, padding before a group's third character too.
        assertThat(decoded("aGV sbG8=")).isEqualTo("hello");
        assertThat(decoded("aGVs\nbG8=")).isEqualTo("hello");
        assertThat(decoded("=aGVsbG8=")).isEqualTo("hello");
        assertThat(decoded("aG=VsbG8=")).isEqualTo("hello");
        // The padding that completes a group ends the data.
        assertThat(decoded("aGVsbG8=junk")).isEqualTo("hello");
        assertThat(decoded("")).isEmpty();
    }

    @Test
    void refusesWhatPythonRefuses() {
        assertThatThrownBy(() -> UserData.decode("aGVsbG8")).hasMessage("Incorrect padding");
        assertThatThrownBy(() -> UserData.decode("aGVsbA=")).hasMessage("Incorrect padding");
        assertThatThrownBy(() -> UserData.decode("a")).hasMessage("Invalid base64-encoded string: number of data"
                + " characters (1) cannot be 1 more than a multiple of 4");
    }

    @Test
    void takesAtMost65535CharactersAsNovasSchema() {
        byte[] raw = new byte[49149];
        String most = Base64.getEncoder().encodeToString(raw);
        assertThat(most).hasSize(65532);
        assertThat(UserData.decode(most)).hasSize(49149);
        assertThat(UserData.decode(most + "\n\n\n")).hasSize(49149);
        assertThatThrownBy(() -> UserData.decode(most + "====")).hasMessageContaining("longer than 65535");
    }
}
