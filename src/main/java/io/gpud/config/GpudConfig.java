package io.gpud.config;

/**
 * The whole configuration of one node, immutable. Built by {@link ConfigLoader} from the
 * defaults, then the YAML file, then command-line flags.
 */
public record GpudConfig(NodeConfig node, ApiConfig api, ModelConfig model, EngineConfig engine, LogConfig log,
        StateConfig state, ScalingConfig scaling, LifecycleConfig lifecycle, SecureConfig secure, GossipConfig gossip,
        StoreConfig store, RoutingConfig routing) {

    public GpudConfig {
        if (node == null || api == null || model == null || engine == null || log == null || state == null
                || scaling == null || lifecycle == null || secure == null || gossip == null
                || store == null || routing == null) {
            throw new ConfigException(
                    "every section (node, api, model, engine, log, state, scaling, lifecycle, secure, gossip, store, routing) must be present");
        }
        boolean awsRegion = !node.region().equals("local");
        if (state.backend() == StateConfig.Backend.DYNAMODB && !awsRegion && state.endpoint() == null) {
            throw new ConfigException("state.backend was dynamodb with node.region 'local' and no state.endpoint; "
                    + "set node.region to the AWS region (or state.endpoint for DynamoDB Local)");
        }
        if ((scaling.enabled() && !scaling.dryRun() || lifecycle.watch()) && !awsRegion && scaling.endpoint() == null) {
            throw new ConfigException("scaling.enabled or lifecycle.watch needs EC2 Auto Scaling, but node.region was "
                    + "'local' and scaling.endpoint is unset; set node.region to the AWS region");
        }
        if (gossip.insecure() && secure.environment() == SecureConfig.Environment.PRODUCTION) {
            throw new ConfigException("gossip.insecure was true with secure.environment 'production': cluster traffic "
                    + "without authentication never runs in production; set gossip.keyringFile instead");
        }
        if (engine.backend() == EngineConfig.Backend.SIM && secure.environment() == SecureConfig.Environment.PRODUCTION) {
            throw new ConfigException("engine.backend was sim with secure.environment 'production': the simulated GPU "
                    + "answers with made-up text and only serves tests of a fleet; set engine.backend to auto, cpu or "
                    + "cuda");
        }
        if (api.port() != 0 && api.port() == api.metricsPort()) {
            throw new ConfigException("api.port and api.metricsPort were both " + api.port() + ", must differ");
        }
    }
}
