package io.gpud.config;

/**
 * The whole configuration of one node, immutable. Built by {@link ConfigLoader} from the
 * defaults, then the YAML file, then command-line flags.
 */
public record GpudConfig(NodeConfig node, ApiConfig api, ModelConfig model, EngineConfig engine, LogConfig log,
                         GossipConfig gossip) {

    public GpudConfig {
        if (node == null || api == null || model == null || engine == null || log == null || gossip == null) {
            throw new ConfigException("every section (node, api, model, engine, log, gossip) must be present");
        }
        if (api.port() != 0 && api.port() == api.metricsPort()) {
            throw new ConfigException("api.port and api.metricsPort were both " + api.port() + ", must differ");
        }
    }
}
