/**
 * Structured output: JSON Schema compiled into token constraints over a model's vocabulary.
 */
package io.gpud.grammar;
