import { pino, type Logger } from 'pino';

/** Structured JSON logs on stdout; ids go in fields (`instanceId`, `batchId`, …), never in the message. */
export function createLogger(level: string, instanceId: string): Logger {
  return pino({ level, base: { service: 'ingest', instanceId }, timestamp: pino.stdTimeFunctions.isoTime });
}
