package io.stratus.helm;

import com.marcnuri.helm.Helm;
import com.marcnuri.helm.TemplateCommand;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.GenericKubernetesResource;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.apps.DaemonSet;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.client.utils.KubernetesSerialization;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.NoSuchElementException;
import java.util.Optional;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/** The chart rendered by {@code helm template} (helm-java) and read into the Kubernetes model, one object per document. */
final class RenderedChart {
    static final Path CHART = Path.of("stratus").toAbsolutePath();
    static final String RELEASE = "cloud";
    static final String NAMESPACE = "stratus";

    private static final Pattern DOCUMENT_SEPARATOR = Pattern.compile("(?m)^---\\s*$");
    private static final KubernetesSerialization SERIALIZATION = new KubernetesSerialization();

    final String yaml;
    final List<HasMetadata> objects;

    private RenderedChart(String yaml, List<HasMetadata> objects) {
        this.yaml = yaml;
        this.objects = objects;
    }

    /** Renders with the chart's defaults, then each {@code --set key=value} (pairs) in order. */
    static RenderedChart render(Object... sets) {
        return render(null, sets);
    }

    static RenderedChart render(Path valuesFile, Object... sets) {
        return render(CHART, valuesFile, sets);
    }

    /**
     * Renders with the hooks too: helm-java's template leaves hooks out, so this renders a copy of
     * the chart whose hook annotations are removed (the objects are otherwise the same).
     */
    static RenderedChart renderWithHooks(Object... sets) {
        return render(chartWithoutHooks(), null, sets);
    }

    private static Path withoutHooks;

    private static synchronized Path chartWithoutHooks() {
        if (withoutHooks == null) {
            try {
                Path copy = Files.createTempDirectory("stratus-chart").resolve("stratus");
                try (Stream<Path> files = Files.walk(CHART)) {
                    for (Path f : files.toList()) {
                        Path target = copy.resolve(CHART.relativize(f).toString());
                        if (Files.isDirectory(f)) {
                            Files.createDirectories(target);
                        } else if (f.getFileName().toString().endsWith(".yaml")
                                && f.getParent().getFileName().toString().equals("templates")) {
                            Files.writeString(target, Files.readString(f).lines()
                                    .filter(l -> !l.stripLeading().startsWith("helm.sh/hook"))
                                    .collect(Collectors.joining("\n", "", "\n")));
                        } else {
                            Files.copy(f, target);
                        }
                    }
                }
                withoutHooks = copy;
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
        return withoutHooks;
    }

    private static RenderedChart render(Path chart, Path valuesFile, Object... sets) {
        FakeApiServer.start();
        TemplateCommand template = new Helm(chart).template().withName(RELEASE).withNamespace(NAMESPACE);
        if (valuesFile != null) {
            template.withValuesFile(valuesFile);
        }
        for (int i = 0; i < sets.length; i += 2) {
            template.set((String) sets[i], sets[i + 1]);
        }
        return parse(template.call());
    }

    static RenderedChart parse(String yaml) {
        List<HasMetadata> objects = new ArrayList<>();
        for (String document : DOCUMENT_SEPARATOR.split(yaml)) {
            if (document.lines().allMatch(l -> l.isBlank() || l.stripLeading().startsWith("#"))) {
                continue;
            }
            Object o = SERIALIZATION.unmarshal(document);
            if (!(o instanceof HasMetadata h)) {
                throw new AssertionError("a rendered document is not a Kubernetes object: " + document);
            }
            objects.add(h);
        }
        return new RenderedChart(yaml, objects);
    }

    <T extends HasMetadata> List<T> all(Class<T> type) {
        return objects.stream().filter(type::isInstance).map(type::cast).toList();
    }

    <T extends HasMetadata> T one(Class<T> type, String name) {
        return find(type, name).orElseThrow(() -> new NoSuchElementException(type.getSimpleName() + " " + name
                + " is not rendered; rendered: " + objects.stream().map(o -> o.getKind() + "/" + o.getMetadata()
                .getName()).toList()));
    }

    <T extends HasMetadata> Optional<T> find(Class<T> type, String name) {
        return all(type).stream().filter(o -> o.getMetadata().getName().equals(name)).findFirst();
    }

    GenericKubernetesResource custom(String kind, String name) {
        return all(GenericKubernetesResource.class).stream()
                .filter(o -> o.getKind().equals(kind) && o.getMetadata().getName().equals(name)).findFirst()
                .orElseThrow(() -> new NoSuchElementException(kind + " " + name + " is not rendered"));
    }

    List<GenericKubernetesResource> custom(String kind) {
        return all(GenericKubernetesResource.class).stream().filter(o -> o.getKind().equals(kind)).toList();
    }

    /** Every pod template the chart renders, by its owner ("Deployment/cloud-stratus-scheduler"). */
    Map<String, PodSpec> podSpecs() {
        Map<String, PodSpec> specs = new java.util.LinkedHashMap<>();
        for (HasMetadata o : objects) {
            PodSpec spec = null;
            if (o instanceof Deployment d) {
                spec = d.getSpec().getTemplate().getSpec();
            } else if (o instanceof DaemonSet d) {
                spec = d.getSpec().getTemplate().getSpec();
            } else if (o instanceof StatefulSet st) {
                spec = st.getSpec().getTemplate().getSpec();
            } else if (o instanceof Job j) {
                spec = j.getSpec().getTemplate().getSpec();
            }
            if (spec != null) {
                specs.put(o.getKind() + "/" + o.getMetadata().getName(), spec);
            }
        }
        return specs;
    }

    static Stream<Container> containers(PodSpec spec) {
        return Stream.concat(Optional.ofNullable(spec.getInitContainers()).orElse(List.of()).stream(),
                spec.getContainers().stream());
    }

    /** The keys of the Secret the chart renders under {@code name}, empty when it renders none. */
    Optional<java.util.Set<String>> secretKeys(String name) {
        return find(Secret.class, name).map(s -> {
            java.util.Set<String> keys = new java.util.HashSet<>();
            Optional.ofNullable(s.getData()).ifPresent(d -> keys.addAll(d.keySet()));
            Optional.ofNullable(s.getStringData()).ifPresent(d -> keys.addAll(d.keySet()));
            return keys;
        });
    }

    static String name(String component) {
        return RELEASE + "-stratus-" + component;
    }
}
