package io.gpud.membership;

import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;

/**
 * The slow-changing facts a member gossips about itself. Encoded compactly and capped at
 * {@code maxMetadataBytes}; a change is gossiped as a new alive message with a higher
 * incarnation.
 *
 * @param region          the member's region
 * @param dataAddress     host of its data-plane HTTP listener
 * @param dataPort        port of its data-plane HTTP listener
 * @param availabilityZone its AZ ("" when unknown)
 * @param subnet          its subnet ("" when unknown)
 * @param vpc             its VPC ("" when unknown)
 * @param nodeState       its lifecycle state: READY, DRAINING, ...
 * @param models          the models it serves, with versions
 * @param capacity        concurrent sequences it offers
 * @param softwareVersion the gpud version it runs
 * @param peerPort        port of its peer listener (mutual TLS, on {@code dataAddress}) that
 *                        forwarded requests go to; 0: it has none, and takes forwards on
 *                        its data port (a cluster that runs without peer TLS)
 *
 * <p>The wire form appends {@code peerPort} to the fields before it; a form without it
 * (a node of an older version) decodes with {@code peerPort} 0.
 */
public record NodeMetadata(String region, String dataAddress, int dataPort, String availabilityZone, String subnet,
                           String vpc, String nodeState, List<Model> models, int capacity,
                           String softwareVersion, int peerPort) {

    /** A model a member serves, and its version. */
    public record Model(String name, String version) {
    }

    public NodeMetadata {
        models = List.copyOf(models);
    }

    /** Metadata of a member with no peer listener. */
    public NodeMetadata(String region, String dataAddress, int dataPort, String availabilityZone, String subnet,
                        String vpc, String nodeState, List<Model> models, int capacity, String softwareVersion) {
        this(region, dataAddress, dataPort, availabilityZone, subnet, vpc, nodeState, models, capacity,
                softwareVersion, 0);
    }

    /** Metadata with nothing but a region, for members whose metadata did not decode. */
    public static NodeMetadata unknown(String region) {
        return new NodeMetadata(region, "", 0, "", "", "", "UNKNOWN", List.of(), 0, "");
    }

    /** The wire form. */
    public byte[] encode() {
        var out = new WireWriter(256);
        out.string(region).string(dataAddress).u16(dataPort).string(availabilityZone).string(subnet).string(vpc)
                .string(nodeState).u8(models.size());
        for (Model m : models) {
            out.string(m.name()).string(m.version());
        }
        out.i32(capacity).string(softwareVersion).u16(peerPort);
        return out.toArray();
    }

    /** Decodes the wire form; a malformed buffer is a {@link WireFormatException}. */
    public static NodeMetadata decode(byte[] bytes) {
        var in = new WireReader(ByteBuffer.wrap(bytes));
        String region = in.string();
        String address = in.string();
        int port = in.u16();
        String az = in.string();
        String subnet = in.string();
        String vpc = in.string();
        String state = in.string();
        int n = in.u8();
        var models = new ArrayList<Model>(n);
        for (int i = 0; i < n; i++) {
            models.add(new Model(in.string(), in.string()));
        }
        int capacity = in.i32();
        String version = in.string();
        int peerPort = in.remaining() == 0 ? 0 : in.u16();
        in.end();
        return new NodeMetadata(region, address, port, az, subnet, vpc, state, models, capacity, version, peerPort);
    }
}
