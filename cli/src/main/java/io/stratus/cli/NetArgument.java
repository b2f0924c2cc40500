package io.stratus.cli;

import io.stratus.kvm.vm.NetConfig;
import io.stratus.kvm.vm.VmConfigException;
import picocli.CommandLine;

/** {@code --net tap=NAME[,mac=52:54:00:12:34:56]}. */
final class NetArgument implements CommandLine.ITypeConverter<NetConfig> {
    @Override
    public NetConfig convert(String value) {
        String tap = null;
        String mac = null;
        for (String part : value.split(",")) {
            int eq = part.indexOf('=');
            String key = eq < 0 ? part : part.substring(0, eq);
            String val = eq < 0 ? "" : part.substring(eq + 1);
            switch (key) {
                case "tap" -> tap = val;
                case "mac" -> mac = val;
                default -> throw new CommandLine.TypeConversionException("unknown network option '" + key + "' in '"
                        + value + "': use tap=NAME[,mac=XX:XX:XX:XX:XX:XX]");
            }
        }
        if (tap == null || tap.isEmpty()) {
            throw new CommandLine.TypeConversionException("--net needs tap=NAME, for example --net tap=tap0");
        }
        try {
            return mac == null ? NetConfig.of(tap) : new NetConfig(tap, mac);
        } catch (VmConfigException e) {
            throw new CommandLine.TypeConversionException(e.getMessage());
        }
    }
}
