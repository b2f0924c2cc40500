package io.stratus.proto.v1;

import static org.assertj.core.api.Assertions.assertThat;

import com.google.protobuf.Descriptors.Descriptor;
import com.google.protobuf.Descriptors.EnumDescriptor;
import com.google.protobuf.Descriptors.EnumValueDescriptor;
import com.google.protobuf.Descriptors.FieldDescriptor;
import com.google.protobuf.Descriptors.FileDescriptor;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * The field rules of the contract, enforced: every field and enum value ever published (the lock
 * file) keeps its number, name and type, or its number is reserved; and nothing new is published
 * without being added to the lock, so that adding is a deliberate step.
 */
class ContractLockTest {
    private static final List<FileDescriptor> FILES = List.of(InstanceProto.getDescriptor(),
            CommandsProto.getDescriptor(), EventsProto.getDescriptor(), AgentProto.getDescriptor(),
            MigrationProto.getDescriptor(), NetworkProto.getDescriptor());

    /** Where a number lives ("message stratus.v1.Boot 3") mapped to what it is ("resources message:Resources"). */
    private static Map<String, String> current() {
        Map<String, String> out = new TreeMap<>();
        for (FileDescriptor f : FILES) {
            f.getMessageTypes().forEach(m -> message(m, out));
            f.getEnumTypes().forEach(e -> enumeration(e, out));
        }
        return out;
    }

    private static void message(Descriptor m, Map<String, String> out) {
        for (FieldDescriptor f : m.getFields()) {
            String type = switch (f.getJavaType()) {
                case MESSAGE -> "message:" + f.getMessageType().getFullName();
                case ENUM -> "enum:" + f.getEnumType().getFullName();
                default -> f.getType().name().toLowerCase(java.util.Locale.ROOT);
            };
            out.put("message " + m.getFullName() + " " + f.getNumber(),
                    f.getName() + " " + (f.isRepeated() ? "repeated " : "") + type);
        }
        m.getNestedTypes().stream().filter(n -> !n.getOptions().getMapEntry()).forEach(n -> message(n, out));
        m.getEnumTypes().forEach(e -> enumeration(e, out));
    }

    private static void enumeration(EnumDescriptor e, Map<String, String> out) {
        for (EnumValueDescriptor v : e.getValues()) {
            out.put("enum " + e.getFullName() + " " + v.getNumber(), v.getName());
        }
    }

    private static Map<String, String> lock() throws IOException {
        Map<String, String> out = new TreeMap<>();
        try (InputStream in = ContractLockTest.class.getResourceAsStream("/contract-v1.lock")) {
            assertThat(in).as("src/test/resources/contract-v1.lock").isNotNull();
            for (String line : new String(in.readAllBytes(), StandardCharsets.UTF_8).split("\n")) {
                if (line.isBlank() || line.startsWith("#")) {
                    continue;
                }
                String[] parts = line.split(" ", 4);
                out.put(parts[0] + " " + parts[1] + " " + parts[2], parts[3]);
            }
        }
        return out;
    }

    private static boolean reserved(String where) {
        String[] parts = where.split(" ");
        int number = Integer.parseInt(parts[2]);
        for (FileDescriptor f : FILES) {
            if (parts[0].equals("message")) {
                Descriptor d = find(f.getMessageTypes(), parts[1]);
                if (d != null) {
                    return d.isReservedNumber(number);
                }
            } else {
                for (EnumDescriptor e : allEnums(f)) {
                    if (e.getFullName().equals(parts[1])) {
                        return e.isReservedNumber(number);
                    }
                }
            }
        }
        return false; // the whole message or enum is gone: that too breaks readers
    }

    private static Descriptor find(List<Descriptor> types, String name) {
        for (Descriptor d : types) {
            if (d.getFullName().equals(name)) {
                return d;
            }
            Descriptor nested = find(d.getNestedTypes(), name);
            if (nested != null) {
                return nested;
            }
        }
        return null;
    }

    private static List<EnumDescriptor> allEnums(FileDescriptor f) {
        List<EnumDescriptor> out = new ArrayList<>(f.getEnumTypes());
        List<Descriptor> todo = new ArrayList<>(f.getMessageTypes());
        while (!todo.isEmpty()) {
            Descriptor d = todo.remove(todo.size() - 1);
            out.addAll(d.getEnumTypes());
            todo.addAll(d.getNestedTypes());
        }
        return out;
    }

    @Test
    void publishedNumbersKeepTheirNameAndTypeOrAreReserved() throws IOException {
        Map<String, String> now = current();
        List<String> broken = new ArrayList<>();
        lock().forEach((where, was) -> {
            String is = now.get(where);
            if (is == null && !reserved(where)) {
                broken.add(where + ": '" + was + "' was removed without reserving its number and name");
            } else if (is != null && !is.equals(was)) {
                broken.add(where + ": was '" + was + "', is now '" + is
                        + "'; never reuse a number: add a new field and reserve this one");
            }
        });
        assertThat(broken).as("contract breaks").isEmpty();
    }

    @Test
    void everyPublishedNumberIsInTheLock() throws IOException {
        Map<String, String> locked = lock();
        List<String> missing = new ArrayList<>();
        current().forEach((where, is) -> {
            if (!locked.containsKey(where)) {
                missing.add(where + " " + is);
            }
        });
        assertThat(missing).as("new fields or values: add these lines to proto/src/test/resources/contract-v1.lock")
                .isEmpty();
    }
}
