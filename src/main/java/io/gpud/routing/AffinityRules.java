package io.gpud.routing;

import java.net.InetAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;

/**
 * Rules {@code SOURCE=REGION} that name the region a request should run in by where it
 * came from: a CIDR matched against the client address, or a VPC endpoint id
 * ({@code vpce-...}) or VPC id ({@code vpc-...}) from the PROXY protocol header. The first
 * matching rule wins.
 */
public final class AffinityRules {

    /** One rule, parsed. */
    record Rule(String text, byte[] network, int prefixBits, String endpointOrVpc, String region) {

        boolean matches(RequestSource source) {
            if (endpointOrVpc != null) {
                return endpointOrVpc.equals(source.vpcEndpointId()) || endpointOrVpc.equals(source.vpcId());
            }
            InetAddress address = source.clientAddress();
            if (address == null) {
                return false;
            }
            byte[] a = address.getAddress();
            if (a.length != network.length) {
                return false;
            }
            int full = prefixBits / 8;
            for (int i = 0; i < full; i++) {
                if (a[i] != network[i]) {
                    return false;
                }
            }
            int rest = prefixBits % 8;
            if (rest == 0) {
                return true;
            }
            int mask = (0xff << (8 - rest)) & 0xff;
            return (a[full] & mask) == (network[full] & mask);
        }
    }

    private final List<Rule> rules;

    private AffinityRules(List<Rule> rules) {
        this.rules = List.copyOf(rules);
    }

    /** No rules: no request has an affinity. */
    public static AffinityRules none() {
        return new AffinityRules(List.of());
    }

    /**
     * Parses rules such as {@code 10.34.10.0/24=us-east-1} or {@code vpce-0a1b=us-west-2};
     * a malformed rule is an {@link IllegalArgumentException} naming it.
     */
    public static AffinityRules parse(List<String> texts) {
        var rules = new ArrayList<Rule>();
        for (String text : texts) {
            int eq = text.indexOf('=');
            if (eq <= 0 || eq == text.length() - 1) {
                throw new IllegalArgumentException("affinity rule '" + text + "' is not SOURCE=REGION");
            }
            String source = text.substring(0, eq).strip();
            String region = text.substring(eq + 1).strip();
            if (source.startsWith("vpce-") || source.startsWith("vpc-")) {
                rules.add(new Rule(text, null, 0, source, region));
                continue;
            }
            int slash = source.indexOf('/');
            String host = slash < 0 ? source : source.substring(0, slash);
            if (!host.matches("[0-9.]+|[0-9a-fA-F:]+")) {
                throw new IllegalArgumentException("affinity rule '" + text + "': '" + host
                        + "' is not an IP address (only literal addresses, no host names)");
            }
            byte[] network;
            try {
                network = InetAddress.getByName(host).getAddress();
            } catch (UnknownHostException e) {
                throw new IllegalArgumentException("affinity rule '" + text + "': '" + host + "' is not an IP address");
            }
            int bits = network.length * 8;
            if (slash >= 0) {
                String prefix = source.substring(slash + 1);
                if (!prefix.matches("\\d{1,3}") || Integer.parseInt(prefix) > network.length * 8) {
                    throw new IllegalArgumentException("affinity rule '" + text + "': prefix length '" + prefix
                            + "' must be 0.." + network.length * 8);
                }
                bits = Integer.parseInt(prefix);
            }
            rules.add(new Rule(text, network, bits, null, region));
        }
        return new AffinityRules(rules);
    }

    /** The first rule that matches, or null. */
    Rule first(RequestSource source) {
        for (int i = 0; i < rules.size(); i++) {
            Rule r = rules.get(i);
            if (r.matches(source)) {
                return r;
            }
        }
        return null;
    }
}
