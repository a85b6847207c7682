package io.gpud.node;

import io.gpud.config.GpudConfig;
import io.gpud.config.StateConfig;
import io.gpud.scaling.AwsAutoScaling;
import io.gpud.state.DynamoStateStore;
import io.gpud.state.EmbeddedStateStore;
import io.gpud.state.StateStore;

/**
 * How the node reaches what lies outside it: the state store and EC2 Auto Scaling.
 * {@link #fromConfig()} builds them from the configuration with the default AWS
 * credentials (the instance profile on EC2); tests give their own.
 */
public interface Cloud {

    /** The state store: embedded, or DynamoDB in this node's region. */
    StateStore stateStore(GpudConfig config);

    /** EC2 Auto Scaling in this node's region. */
    AwsAutoScaling autoScaling(GpudConfig config);

    /** From the configuration: {@code state.backend}, {@code state.endpoint}, {@code scaling.endpoint}. */
    static Cloud fromConfig() {
        return new Cloud() {
            @Override
            public StateStore stateStore(GpudConfig config) {
                if (config.state().backend() == StateConfig.Backend.EMBEDDED) {
                    return new EmbeddedStateStore();
                }
                return DynamoStateStore.connect(config.node().region(), config.state().endpoint(),
                        config.state().tablePrefix());
            }

            @Override
            public AwsAutoScaling autoScaling(GpudConfig config) {
                return AwsAutoScaling.connect(config.node().region(), config.scaling().endpoint());
            }
        };
    }
}
