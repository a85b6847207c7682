/**
 * The {@code gpud} command line ({@link io.gpud.cli.Main}): {@code run} starts the daemon;
 * {@code status}, {@code drain} and {@code undrain} are clients of its admin socket;
 * {@code generate} runs a model offline.
 */
package io.gpud.cli;
