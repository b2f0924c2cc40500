package io.stratus.cli;

import io.stratus.kvm.vm.DiskConfig;
import java.nio.file.Path;
import picocli.CommandLine;

/** {@code --disk FILE[,ro]}. */
final class DiskArgument implements CommandLine.ITypeConverter<DiskConfig> {
    @Override
    public DiskConfig convert(String value) {
        boolean readOnly = false;
        String file = value;
        int comma = value.lastIndexOf(',');
        if (comma >= 0) {
            String option = value.substring(comma + 1);
            if (option.equals("ro")) {
                readOnly = true;
                file = value.substring(0, comma);
            } else if (option.equals("rw")) {
                file = value.substring(0, comma);
            } else {
                throw new CommandLine.TypeConversionException("unknown disk option '" + option
                        + "' in '" + value + "': use FILE or FILE,ro");
            }
        }
        if (file.isEmpty()) {
            throw new CommandLine.TypeConversionException("--disk needs a file name");
        }
        return DiskConfig.of(Path.of(file), readOnly);
    }
}
