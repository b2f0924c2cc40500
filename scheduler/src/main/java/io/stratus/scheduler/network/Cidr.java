package io.stratus.scheduler.network;

import java.math.BigInteger;
import java.util.Optional;

/** An address prefix such as {@code 10.0.0.0/24}, always normalised to its network address. */
public record Cidr(IpAddress network, int prefix) {
    /** Parses {@code a.b.c.d/n} or {@code x::/n}; a bare address is a host prefix (/32 or /128). */
    public static Optional<Cidr> parse(String text) {
        if (text == null) {
            return Optional.empty();
        }
        int slash = text.indexOf('/');
        Optional<IpAddress> address = IpAddress.parse(slash < 0 ? text : text.substring(0, slash));
        if (address.isEmpty()) {
            return Optional.empty();
        }
        int bits = address.get().bits();
        int prefix = bits;
        if (slash >= 0) {
            String p = text.substring(slash + 1);
            if (!p.matches("[0-9]{1,3}") || Integer.parseInt(p) > bits) {
                return Optional.empty();
            }
            prefix = Integer.parseInt(p);
        }
        return Optional.of(of(address.get(), prefix));
    }

    public static Cidr of(IpAddress address, int prefix) {
        BigInteger mask = BigInteger.ONE.shiftLeft(address.bits() - prefix).subtract(BigInteger.ONE).not();
        return new Cidr(new IpAddress(address.version(), address.value().and(mask)), prefix);
    }

    public int version() {
        return network.version();
    }

    public IpAddress last() {
        BigInteger size = BigInteger.ONE.shiftLeft(network.bits() - prefix);
        return new IpAddress(version(), network.value().add(size).subtract(BigInteger.ONE));
    }

    /** The prefix as a mask ({@code 255.255.255.0}, {@code ffff:ffff:ffff:ffff::}). */
    public IpAddress netmask() {
        BigInteger all = BigInteger.ONE.shiftLeft(network.bits()).subtract(BigInteger.ONE);
        BigInteger host = BigInteger.ONE.shiftLeft(network.bits() - prefix).subtract(BigInteger.ONE);
        return new IpAddress(version(), all.xor(host));
    }

    public boolean contains(IpAddress a) {
        return a.version() == version() && a.compareTo(network) >= 0 && a.compareTo(last()) <= 0;
    }

    public boolean overlaps(Cidr o) {
        return o.version() == version() && (contains(o.network) || o.contains(network));
    }

    /** The next prefix of the same length after this one (for carving subnets from a pool). */
    public Cidr next() {
        return new Cidr(last().plus(1), prefix);
    }

    @Override
    public String toString() {
        return network + "/" + prefix;
    }
}
