/**
 * The tamper-evident audit log: append-only JSON lines, each carrying the SHA-256 of the
 * record before it ({@link io.gpud.audit.AuditLog}); {@link io.gpud.audit.AuditLog#verify}
 * walks a file and reports the first record that was edited, removed or moved, and tells
 * an incomplete final record an interrupted write left from tampering. A write that cannot
 * complete is rolled back, counted ({@code gpud_audit_write_failures_total}) and throws, so
 * the operation it records does not proceed; {@link io.gpud.audit.AuditLog#failing} says
 * why until a write succeeds again. A caller's interrupt neither fails its write nor closes
 * the file for the others. The class comment of {@code AuditLog} is the design.
 */
package io.gpud.audit;
