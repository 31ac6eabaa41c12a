/**
 * Preloaded into every web instance (`node --import`): when the supervisor disappears without
 * stopping it — SIGKILL, a crash, a test runner killing its worker — the instance's stdin pipe
 * reaches end-of-file, and the instance sends itself SIGTERM so the web shuts down gracefully
 * instead of living on as an orphan holding its port. Linux's PR_SET_PDEATHSIG would do this,
 * but Node does not expose it.
 */
const stdin = process.stdin as NodeJS.ReadStream & { unref?: () => void };
if (!stdin.isTTY) {
  stdin.on("end", () => process.kill(process.pid, "SIGTERM"));
  stdin.on("error", () => process.kill(process.pid, "SIGTERM"));
  stdin.resume();
  // Watching the pipe must not keep the instance alive once the web has closed its server.
  stdin.unref?.();
}
