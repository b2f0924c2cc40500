package io.stratus.kvm.testing;

import io.stratus.kvm.sys.Kvm;
import java.nio.file.Path;
import java.util.Optional;
import org.junit.jupiter.api.extension.ConditionEvaluationResult;
import org.junit.jupiter.api.extension.ExecutionCondition;
import org.junit.jupiter.api.extension.ExtensionContext;

/** {@link RequiresKvm}'s condition: probes the device once per test JVM. */
final class KvmCondition implements ExecutionCondition {
    /** Where every skipped test's reason starts: .ci/kvm-skips.py counts the skips by it for bin/stratus test. */
    static final String REASON_PREFIX = "needs /dev/kvm: ";

    private static final class Probe {
        static final Optional<String> UNAVAILABLE = Kvm.unavailableReason(
                Path.of(System.getProperty("stratus.kvm.device", "/dev/kvm")));
    }

    @Override
    public ConditionEvaluationResult evaluateExecutionCondition(ExtensionContext context) {
        return Probe.UNAVAILABLE.map(reason -> ConditionEvaluationResult.disabled(REASON_PREFIX + reason))
                .orElseGet(() -> ConditionEvaluationResult.enabled("the VMM can open /dev/kvm"));
    }
}
