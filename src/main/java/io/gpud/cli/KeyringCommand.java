package io.gpud.cli;

import com.fasterxml.jackson.databind.JsonNode;
import io.gpud.membership.Keyring;
import java.io.PrintWriter;
import java.security.SecureRandom;
import java.util.Map;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code gpud keyring}: the gossip encryption keys of one node, after {@code consul keyring}.
 * To rotate without a partition, run on every node in turn: {@code install NEW}, then (once
 * all have it) {@code use NEW}, then (once all use it) {@code remove OLD}; or run each step
 * once, on any node, with {@code --cluster}: it is gossiped to every member (wait a few
 * seconds between the steps, until {@code list} on another member shows it).
 */
@Command(name = "keyring", mixinStandardHelpOptions = true,
        description = "List, install, use or remove gossip encryption keys (base64 AES-256) on this node.",
        subcommands = {
            KeyringCommand.List.class,
            KeyringCommand.Install.class,
            KeyringCommand.Use.class,
            KeyringCommand.Remove.class,
            KeyringCommand.Generate.class,
        })
final class KeyringCommand implements Runnable {

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new picocli.CommandLine.ParameterException(spec.commandLine(),
                "a subcommand is required: list, install, use, remove or generate");
    }

    private static int printKeys(String body, PrintWriter out) throws java.io.IOException {
        JsonNode keys = StatusCommand.JSON.readTree(body).path("keys");
        boolean first = true;
        for (JsonNode k : keys) {
            out.println(k.asText() + (first ? "  (primary)" : ""));
            first = false;
        }
        if (keys.isEmpty()) {
            out.println("(no keys: gossip is not encrypted)");
        }
        out.flush();
        return 0;
    }

    @Command(name = "list", mixinStandardHelpOptions = true, description = "The keys, the primary first.")
    static final class List implements Callable<Integer> {
        @Mixin
        AdminOptions admin;
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws Exception {
            return printKeys(admin.client().get("/v1/keyring"), spec.commandLine().getOut());
        }
    }

    /** install, use and remove: one key, one admin call. */
    abstract static class Change implements Callable<Integer> {
        @Mixin
        AdminOptions admin;
        @Parameters(paramLabel = "KEY", description = "A base64 AES-256 key (32 bytes).")
        String key;
        @Option(names = "--cluster", description = "Apply on every member, through gossip.")
        boolean cluster;
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        abstract String operation();

        @Override
        public Integer call() throws Exception {
            String body = StatusCommand.JSON.writeValueAsString(Map.of("key", key, "cluster", cluster));
            return printKeys(admin.client().post("/v1/keyring/" + operation(), body), spec.commandLine().getOut());
        }
    }

    @Command(name = "install", mixinStandardHelpOptions = true,
            description = "Accept packets sealed with KEY (still sealing with the primary).")
    static final class Install extends Change {
        @Override
        String operation() {
            return "install";
        }
    }

    @Command(name = "use", mixinStandardHelpOptions = true, description = "Seal outgoing packets with KEY.")
    static final class Use extends Change {
        @Override
        String operation() {
            return "use";
        }
    }

    @Command(name = "remove", mixinStandardHelpOptions = true, description = "Stop accepting KEY.")
    static final class Remove extends Change {
        @Override
        String operation() {
            return "remove";
        }
    }

    @Command(name = "generate", mixinStandardHelpOptions = true,
            description = "Print a new random key (no daemon needed).")
    static final class Generate implements Callable<Integer> {
        @Spec
        picocli.CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() {
            spec.commandLine().getOut().println(Keyring.generateKey(new SecureRandom()));
            spec.commandLine().getOut().flush();
            return 0;
        }
    }
}
