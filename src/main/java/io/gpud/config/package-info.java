/**
 * Immutable configuration records, one per subsystem, and the one loader that builds them
 * (defaults, then YAML, then flags). Entry type: {@link io.gpud.config.ConfigLoader}.
 */
package io.gpud.config;
