/** Shared vocabulary of every subsystem: node states, ids, time and the base exception. */
package io.gpud.core;
