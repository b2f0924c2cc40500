package io.stratus.scheduler.network;

import java.util.List;

/** A project's security group with its rules; the rules of a port's groups are its only way in. */
public record SecurityGroup(String id, String projectId, String name, String description,
                            List<SecurityGroupRule> rules, Revision revision) {
    public static final String DEFAULT = "default";

    public SecurityGroup {
        rules = List.copyOf(rules);
    }
}
