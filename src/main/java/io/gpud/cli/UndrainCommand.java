package io.gpud.cli;

import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Spec;

/** {@code gpud undrain}: take new work again. */
@Command(name = "undrain", mixinStandardHelpOptions = true, description = "Accept new requests again (state READY).")
final class UndrainCommand implements Callable<Integer> {

    @Mixin
    AdminOptions admin;

    @Spec
    picocli.CommandLine.Model.CommandSpec spec;

    @Override
    public Integer call() throws Exception {
        String state = StatusCommand.JSON.readTree(admin.client().post("/v1/undrain", "{}")).path("state").asText();
        var out = spec.commandLine().getOut();
        out.println(state);
        out.flush();
        return "READY".equals(state) ? 0 : 1;
    }
}
