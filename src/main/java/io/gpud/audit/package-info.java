/**
 * The tamper-evident audit log: append-only JSON lines, each carrying the SHA-256 of the
 * record before it ({@link io.gpud.audit.AuditLog}); {@link io.gpud.audit.AuditLog#verify}
 * walks a file and reports the first record that was edited, removed or moved.
 */
package io.gpud.audit;
