package io.stratus.agent.telemetry;

import io.micrometer.core.instrument.FunctionCounter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.stratus.agent.image.ImageCache;
import java.util.function.ToDoubleFunction;

/** The image cache on /metrics: hits, downloads, checksum refusals and what it holds. */
public final class ImageCacheMeters {
    private ImageCacheMeters() {
    }

    public static void register(MeterRegistry registry, ImageCache cache, String host) {
        counter(registry, cache, host, "stratus.agent.image.cache.hits", "image requests served without a download of their own",
                c -> c.stats().hits());
        counter(registry, cache, host, "stratus.agent.image.downloads", "image downloads into the cache",
                c -> c.stats().downloads());
        counter(registry, cache, host, "stratus.agent.image.downloaded.bytes", "bytes of image data downloaded",
                c -> c.stats().downloadedBytes());
        counter(registry, cache, host, "stratus.agent.image.checksum.mismatches",
                "downloads refused because their sha256 did not match", c -> c.stats().checksumMismatches());
        Gauge.builder("stratus.agent.image.cache.bytes", cache, c -> c.stats().bytes()).baseUnit("bytes")
                .description("bytes of images in the cache").tag("host", host).register(registry);
        Gauge.builder("stratus.agent.image.cache.images", cache, c -> c.stats().images())
                .description("images in the cache").tag("host", host).register(registry);
    }

    private static void counter(MeterRegistry registry, ImageCache cache, String host, String name, String help,
                                ToDoubleFunction<ImageCache> value) {
        FunctionCounter.builder(name, cache, value).description(help).tag("host", host).register(registry);
    }
}
