package io.gpud.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;

import org.junit.jupiter.api.Test;
import picocli.CommandLine;

class RunCommandTest {

    @Test
    void insecureClusterIsTheFlagForGossipInsecure() {
        var run = new RunCommand();
        new CommandLine(run).parseArgs("--demo", "--insecure-cluster");
        assertEquals("true", run.overrides().get("gossip.insecure"));

        var plain = new RunCommand();
        new CommandLine(plain).parseArgs("--demo");
        assertNull(plain.overrides().get("gossip.insecure"), "not insecure unless asked");
    }
}
