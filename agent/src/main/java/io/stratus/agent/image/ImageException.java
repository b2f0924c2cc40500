package io.stratus.agent.image;

/** An image is missing, unreadable or not what the request expects; {@link #code()} names the fault. */
public final class ImageException extends RuntimeException {
    private final String code;

    public ImageException(String code, String message) {
        super(message);
        this.code = code;
    }

    public String code() {
        return code;
    }
}
