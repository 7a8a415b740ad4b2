/**
 * How close to its deadline (ms) a cancelled call is taken to have run out of time. A
 * client gives up at its own deadline, which passes a little before the server's (that
 * one counts from the request's arrival), cancelling the call; and a server's deadline
 * timer, on the event loop's millisecond clock, may fire a little before the clock
 * reaches the deadline.
 */
const deadlineSlackMs = 20;

/**
 * Whether a call cancelled at `now` ran out of time: its client gave up at its
 * `deadline` (on the same clock), rather than cancelling it (a closed page).
 */
export function cancelledAtDeadline(now: number, deadline: number): boolean {
  return now >= deadline - deadlineSlackMs;
}

/** Milliseconds per unit of `grpc-timeout` (hours, minutes, seconds, milli-, micro-, nanoseconds). */
const grpcTimeoutUnitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 1e-3, n: 1e-6 };

/**
 * The time (ms from its arrival) a request's client gives it, from the header of its
 * protocol: `grpc-timeout` for gRPC and gRPC-Web, `connect-timeout-ms` for Connect;
 * undefined without one or when it is malformed (connect-node refuses those calls).
 */
export function requestTimeoutMs(header: Headers): number | undefined {
  if (header.get("content-type")?.startsWith("application/grpc")) {
    const grpc = /^(\d{1,8})([HMSmun])$/.exec(header.get("grpc-timeout") ?? "");
    return grpc ? Number(grpc[1]) * (grpcTimeoutUnitMs[grpc[2] ?? ""] ?? Number.NaN) : undefined;
  }
  const connect = header.get("connect-timeout-ms");
  return connect !== null && /^\d{1,10}$/.test(connect) ? Number(connect) : undefined;
}
