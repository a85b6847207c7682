/**
 * The autoscaler and what it talks to in AWS.
 *
 * <p>{@link io.gpud.scaling.ScalingController} decides a pool's desired capacity from
 * observations and the time they carry, and nothing else, so {@code gpud scale simulate}
 * ({@link io.gpud.scaling.TraceReplay}) runs the very same code on a simulated clock.
 * {@link io.gpud.scaling.Autoscaler} runs it for real: only while this node leads the pool
 * ({@link io.gpud.scaling.Leadership}, implemented by the state store's leases), recording
 * each decision under the lease epoch before {@link io.gpud.scaling.AutoScalingActuator}
 * calls EC2 Auto Scaling {@code SetDesiredCapacity}.
 *
 * <p>{@link io.gpud.scaling.TerminationWatcher} follows the instance's own end of life
 * through IMDSv2 ({@link io.gpud.scaling.InstanceMetadataClient}): the Auto Scaling
 * termination hook and spot interruption notices drain the node, and the hook is completed
 * with CONTINUE only once nothing is in flight.
 *
 * <p>This package may use {@code config}, {@code metrics} and {@code core}; the AWS SDK
 * stays inside it.
 */
package io.gpud.scaling;
