package io.gpud.routing;

import java.net.InetAddress;

/**
 * Where a request came from, as far as affinity rules care.
 *
 * @param clientAddress the client's address: the PROXY protocol header's source when there
 *                      is one, else the TCP peer; null when unknown
 * @param vpcEndpointId the PrivateLink VPC endpoint id from the PROXY protocol header, or null
 * @param vpcId         the VPC id, when a header carries one, or null
 */
public record RequestSource(InetAddress clientAddress, String vpcEndpointId, String vpcId) {

    /** A request with nothing known about its source. */
    public static RequestSource unknown() {
        return new RequestSource(null, null, null);
    }

    /** A request from {@code address}. */
    public static RequestSource of(InetAddress address) {
        return new RequestSource(address, null, null);
    }

    @Override
    public String toString() {
        var out = new StringBuilder(clientAddress == null ? "unknown" : clientAddress.getHostAddress());
        if (vpcEndpointId != null) {
            out.append(" via ").append(vpcEndpointId);
        }
        if (vpcId != null) {
            out.append(" in ").append(vpcId);
        }
        return out.toString();
    }
}
