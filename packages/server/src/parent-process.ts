/**
 * Calls `gone` once when the process that spawned this one with an IPC channel goes
 * away — exits, crashes or is killed, SIGKILL included, since the kernel closes the
 * channel then — so a child of a launcher (`npm start`, the bench) never outlives it;
 * at once when it went before this was called (during the child's startup, say).
 * Without a channel (a container, a shell) there is no such parent and it never calls.
 * The channel does not keep this process alive.
 */
export function onParentGone(gone: () => void): void {
  if (process.send === undefined) return;
  if (!process.connected || !process.channel) {
    queueMicrotask(gone);
    return;
  }
  process.once("disconnect", gone);
  process.channel.unref();
}
