/**
 * The largest request or answer message on every server and client (both listeners,
 * gRPC and Connect alike), unless configured otherwise. An answer whose length is up
 * to the client (a page of a list) must be cut to fit it, not refused.
 */
export const defaultMaxMessageBytes = 1024 * 1024;
