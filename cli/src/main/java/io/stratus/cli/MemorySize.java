package io.stratus.cli;

import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import picocli.CommandLine;

/**
 * Parses memory sizes as QEMU's {@code -m} does: a number with an optional K, M, G or T suffix
 * (binary units; {@code MiB} and {@code MB} spellings too); a bare number means MiB.
 */
final class MemorySize implements CommandLine.ITypeConverter<Long> {
    private static final Pattern SIZE = Pattern.compile("(\\d+)\\s*([KMGT]?)(I?B)?", Pattern.CASE_INSENSITIVE);

    @Override
    public Long convert(String value) {
        return parse(value);
    }

    static long parse(String value) {
        Matcher m = SIZE.matcher(value.trim());
        if (!m.matches()) {
            throw new CommandLine.TypeConversionException("invalid memory size '" + value
                    + "': use a number with an optional K, M, G or T suffix, for example 256M");
        }
        String unit = m.group(2).toUpperCase(Locale.ROOT);
        int shift = switch (unit) {
            case "K" -> 10;
            case "G" -> 30;
            case "T" -> 40;
            default -> 20;
        };
        long number;
        try {
            number = Long.parseLong(m.group(1));
        } catch (NumberFormatException e) {
            throw new CommandLine.TypeConversionException("memory size '" + value + "' is too large");
        }
        if (number == 0) {
            throw new CommandLine.TypeConversionException("memory size must be more than 0");
        }
        if (number > (Long.MAX_VALUE >> shift)) {
            throw new CommandLine.TypeConversionException("memory size '" + value + "' is too large");
        }
        return number << shift;
    }
}
