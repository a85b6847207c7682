/**
 * What the node answers on the network: the OpenAI- and Ollama-compatible data plane,
 * health, Prometheus metrics, and the admin API on a Unix domain socket.
 *
 * <p>Entry types: {@link io.gpud.api.ApiServer} (the HTTP listeners, the only code that
 * uses Helidon) and {@link io.gpud.api.AdminServer} (the admin socket). Both reach the
 * rest of the node through {@link io.gpud.api.NodeControl}, implemented by the composition
 * root, and generate through {@link io.gpud.inference.ModelCatalog}.
 *
 * <p>Request handling: a route's handler reads the body with bounded cost
 * ({@code JsonBodies}), validates fields ({@code Fields}), admits the generation
 * ({@code Generations}: node state, model, tokens, context budget, engine queue) and
 * drives it on the request's virtual thread, writing whole JSON, SSE events or NDJSON
 * lines. Every failure is an {@link io.gpud.api.ApiException} turned into a response in
 * one place ({@code Errors}).
 */
package io.gpud.api;
