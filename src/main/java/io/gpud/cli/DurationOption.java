package io.gpud.cli;

import io.gpud.config.ConfigLoader;
import java.time.Duration;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.ParameterException;

/** A duration given on the command line, parsed as config files write them (30s, 5m, PT1M). */
final class DurationOption {

    private DurationOption() {
    }

    /**
     * @param option   the option's name, for the error ("--timeout")
     * @param examples what a good value looks like, for the error ("30s or 5m")
     * @throws ParameterException naming the option and the value when it is no duration
     */
    static Duration parse(CommandSpec spec, String option, String value, String examples) {
        try {
            return ConfigLoader.parseDuration(value);
        } catch (IllegalArgumentException e) {
            throw new ParameterException(spec.commandLine(),
                    option + " was '" + value + "', must be a duration such as " + examples);
        }
    }
}
