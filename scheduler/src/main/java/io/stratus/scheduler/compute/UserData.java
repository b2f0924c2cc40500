package io.stratus.scheduler.compute;

import java.io.ByteArrayOutputStream;

/**
 * A server's user data as Nova takes it: base64 text of at most 65535 characters (its create
 * schema's {@code maxLength} and {@code format: base64}), decoded as Python's
 * {@code base64.b64decode} decodes it, which Nova's format check and its metadata service both
 * use.
 *
 * <p>Written here rather than with {@link java.util.Base64} because the JDK's decoders differ from
 * Python's exactly where a request can be odd: Python skips characters outside the alphabet (line
 * breaks, spaces), stops at the padding that completes a group, and refuses a last group that
 * lacks its padding; the JDK's basic decoder refuses the first, and both of its decoders accept
 * the last. What Nova accepts is accepted here, and what it refuses is refused.
 */
public final class UserData {
    /** Nova's limit on the encoded text. */
    public static final int MAX_LENGTH = 65535;

    private UserData() {
    }

    /**
     * The bytes {@code text} encodes.
     *
     * @throws IllegalArgumentException with Python's reason when it is too long or not base64
     */
    public static byte[] decode(String text) {
        if (text.codePointCount(0, text.length()) > MAX_LENGTH) {
            throw new IllegalArgumentException("it is longer than " + MAX_LENGTH + " characters");
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(text.length() * 3 / 4);
        int quadPos = 0;
        int pads = 0;
        int leftChar = 0;
        int dataChars = 0;
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (c == '=') {
                // Padding ends the data once it completes a group; earlier it is skipped.
                if (quadPos >= 2 && quadPos + ++pads >= 4) {
                    return out.toByteArray();
                }
                continue;
            }
            int v = value(c);
            if (v < 0) {
                continue;
            }
            dataChars++;
            pads = 0;
            switch (quadPos) {
                case 0:
                    quadPos = 1;
                    leftChar = v;
                    break;
                case 1:
                    quadPos = 2;
                    out.write((leftChar << 2) | (v >> 4));
                    leftChar = v & 0x0f;
                    break;
                case 2:
                    quadPos = 3;
                    out.write((leftChar << 4) | (v >> 2));
                    leftChar = v & 0x03;
                    break;
                default:
                    quadPos = 0;
                    out.write((leftChar << 6) | v);
                    leftChar = 0;
                    break;
            }
        }
        if (quadPos == 1) {
            throw new IllegalArgumentException("Invalid base64-encoded string: number of data characters ("
                    + dataChars + ") cannot be 1 more than a multiple of 4");
        }
        if (quadPos != 0) {
            throw new IllegalArgumentException("Incorrect padding");
        }
        return out.toByteArray();
    }

    private static int value(char c) {
        if (c >= 'A' && c <= 'Z') {
            return c - 'A';
        }
        if (c >= 'a' && c <= 'z') {
            return c - 'a' + 26;
        }
        if (c >= '0' && c <= '9') {
            return c - '0' + 52;
        }
        if (c == '+') {
            return 62;
        }
        return c == '/' ? 63 : -1;
    }
}
