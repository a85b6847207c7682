/**
 * The composition root: {@link io.gpud.node.Node} starts every subsystem in order, stops
 * them in reverse and owns the node state machine.
 */
package io.gpud.node;
