package io.stratus.scheduler.conductor;

import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.scheduler.compute.FlavorStore;
import io.stratus.scheduler.compute.InstanceActionStore;
import io.stratus.scheduler.compute.MigrationStore;
import io.stratus.scheduler.compute.ServerGroupStore;
import io.stratus.scheduler.compute.ServerMetadataStore;
import io.stratus.scheduler.compute.ServerStore;
import io.stratus.scheduler.hosts.HostDirectory;
import io.stratus.scheduler.image.ImageCatalog;
import io.stratus.scheduler.network.NetworkService;
import io.stratus.scheduler.placement.PlacementStore;
import io.stratus.scheduler.placement.PlacementView;
import io.stratus.scheduler.selection.HostSelector;
import java.time.Clock;

/**
 * The conductor with its tasks, wired once (by the composition root, and by tests on a real
 * schema): the parts the rest of the scheduler uses are these.
 */
public record ConductorParts(Conductor conductor, Sweeper sweeper, HostCommands commands) {

    /** What the conductor's tasks work with. */
    public record Services(ServerStore servers, ServerMetadataStore metadata, MigrationStore migrations,
                           FlavorStore flavors, ImageCatalog images, ServerGroupStore groups, NetworkService network,
                           InstanceActionStore actions, ServerVolumes volumes) {
        /** Without volumes. */
        public Services(ServerStore servers, ServerMetadataStore metadata, MigrationStore migrations,
                        FlavorStore flavors, ImageCatalog images, ServerGroupStore groups, NetworkService network,
                        InstanceActionStore actions) {
            this(servers, metadata, migrations, flavors, images, groups, network, actions, ServerVolumes.NONE);
        }
    }

    /** Where they place and how they reach hosts. */
    public record Hosts(PlacementStore placement, PlacementView view, HostDirectory directory, HostSelector selector,
                        CommandSender sender) {
    }

    public static ConductorParts assemble(Services services, Hosts hosts, Clock clock, Conductor.Settings settings,
                                          MeterRegistry meters) {
        ServerStore servers = services.servers();
        MigrationStore migrations = services.migrations();
        Scheduling scheduling = new Scheduling(hosts.placement(), hosts.view(), hosts.directory(), hosts.selector(),
                servers, services.groups());
        HostCommands commands = new HostCommands(hosts.sender(), clock, settings.taskTimeout());
        BootRecipe recipe = new BootRecipe(services.flavors(), services.metadata(), services.network(),
                services.volumes());
        TaskRunner runner = new TaskRunner(servers);
        MoveTargets targets = new MoveTargets(servers, services.images(), hosts.directory(), scheduling, recipe,
                services.network(), services.volumes());
        ColdMigrationTask cold = new ColdMigrationTask(servers, migrations, scheduling, targets, commands, runner);
        Conductor conductor = new Conductor(servers, migrations, services.images(), services.network(),
                new GuestActions(services.actions()), services.volumes(),
                hosts.directory(), scheduling, commands, settings.hostDownAfter(),
                new BootTask(servers, services.images(), scheduling, recipe, services.network(), commands,
                        services.volumes(),
                        settings.maxAttempts(), clock, settings.volumeWait(), meters),
                runner, new LiveMigrationTask(servers, migrations, scheduling, targets, commands, runner,
                        services.volumes()), cold,
                new ResizeTask(servers, migrations, scheduling, commands, runner, cold));
        return new ConductorParts(conductor, new Sweeper(servers, conductor, clock, settings.taskTimeout(),
                settings.volumeWait()), commands);
    }
}
