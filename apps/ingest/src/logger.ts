import { pino, type Logger } from 'pino';

/**
 * Structured JSON logs on stdout; ids go in fields (`instanceId`, `batchId`, …), never in the message.
 *
 * Written synchronously, in order: pino's default destination writes asynchronously, and a process that exits
 * with a write in flight loses its last lines or writes them out of order (the lab's graceful-stop test: the
 * `stopped` line missing under load, then, with a flush before the exit, written before the last shutdown step
 * — CI on 3819010). These services log events, not every message, so the cost is small.
 */
export function createLogger(level: string, instanceId: string): Logger {
  return pino(
    { level, base: { service: 'ingest', instanceId }, timestamp: pino.stdTimeFunctions.isoTime },
    pino.destination({ dest: 1, sync: true }),
  );
}
