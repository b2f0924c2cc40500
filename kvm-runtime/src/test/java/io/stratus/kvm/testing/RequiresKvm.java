package io.stratus.kvm.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * The test class or method runs a guest on this host's KVM: where the VMM cannot start
 * ({@link io.stratus.kvm.sys.Kvm#unavailableReason}), it is skipped with the reason
 * {@code "needs /dev/kvm: "} and the probe's explanation, which {@code bin/stratus test} counts.
 * {@code -Dstratus.kvm.device=PATH} probes another device node (a missing one to try the skip).
 */
@Target({ElementType.TYPE, ElementType.METHOD})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@ExtendWith(KvmCondition.class)
public @interface RequiresKvm {
}
