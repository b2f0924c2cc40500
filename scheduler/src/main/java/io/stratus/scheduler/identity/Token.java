package io.stratus.scheduler.identity;

import io.stratus.api.auth.Caller;
import java.util.List;

/**
 * An issued token as Keystone describes it: who it stands for, how it was obtained, and its
 * audit ids. A token rescoped from another carries the other's chain id too, and validating a
 * token answers exactly what issuing it answered.
 *
 * @param methods       the authentication methods, the newest first ({@code token}, {@code password})
 * @param auditId       this token's own audit id
 * @param auditChainId  the audit id of the first token of its chain (its own when not rescoped)
 */
public record Token(Caller caller, List<String> methods, String auditId, String auditChainId) {
    public Token {
        methods = List.copyOf(methods);
    }

    /** Keystone's {@code audit_ids}: the token's own, then its chain's when that differs. */
    public List<String> auditIds() {
        return auditId.equals(auditChainId) ? List.of(auditId) : List.of(auditId, auditChainId);
    }
}
