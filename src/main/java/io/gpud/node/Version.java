package io.gpud.node;

/** The software version, from the jar manifest when there is one. */
final class Version {
    private Version() {
    }

    static String current() {
        String v = Node.class.getPackage().getImplementationVersion();
        return v != null ? v : "dev";
    }
}
