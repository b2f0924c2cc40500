package io.stratus.agent.guest;

import io.stratus.proto.v1.NetworkInterface;
import java.util.ArrayList;
import java.util.List;

/** NIC plugs that only remember what they were asked, in order ("plug tapX", "unplug tapX"). */
public final class RecordingPlugs implements NicPlugs {
    private final List<String> calls = new ArrayList<>();

    @Override
    public synchronized void plug(NetworkInterface nic) {
        calls.add("plug " + nic.getTap());
    }

    @Override
    public synchronized void unplug(String tap) {
        calls.add("unplug " + tap);
    }

    public synchronized List<String> calls() {
        return List.copyOf(calls);
    }
}
