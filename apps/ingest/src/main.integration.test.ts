/**
 * The built entry point as the lab will run it: a process with INGEST_*
 * variables, a start line naming the bound port, and a SIGTERM that lets the
 * request in flight finish before the process exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { derivedEventId } from '@chaos-lab/contracts';
import {
  createWorkDir,
  KafkaMockCluster,
  ManagedProcess,
  PostgresServer,
  type StartedKafkaMock,
  type StartedPostgresServer,
  type WorkDir,
} from '@chaos-lab/lab';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'main.js');

let work: WorkDir;
let postgres: StartedPostgresServer;
let kafka: StartedKafkaMock;

beforeAll(async () => {
  work = await createWorkDir();
  [postgres, kafka] = await Promise.all([
    PostgresServer.start({ workDir: join(work.path, 'pg'), logFile: join(work.path, 'pg.log') }),
    KafkaMockCluster.start({ brokers: 1, logFile: join(work.path, 'kafka.log') }),
  ]);
}, 60_000);

afterAll(async () => {
  await Promise.allSettled([kafka?.stop(), postgres?.stop()]);
  await work?.remove();
});

describe('ingest as a process', () => {
  it('logs its bound port, and on SIGTERM finishes the request in flight and exits 0', async () => {
    const lines: string[] = [];
    const logFile = join(work.path, 'ingest.log');
    await using proc = await ManagedProcess.spawn({
      name: 'ingest',
      command: process.execPath,
      args: [main],
      logFile,
      onStdoutLine: (l) => lines.push(l),
      env: {
        PATH: process.env.PATH,
        INGEST_INSTANCE_ID: 'ingest-proc',
        INGEST_HTTP_HOST: '127.0.0.1',
        INGEST_HTTP_PORT: '0',
        INGEST_POSTGRES_URL: await postgres.createDatabase('ingest_proc'),
        INGEST_KAFKA_BROKERS: kafka.bootstrapServers.join(','),
        INGEST_KAFKA_IDEMPOTENT: 'false',
        INGEST_TOPIC_PREFIX: 'proc.',
      },
    });
    let port = 0;
    await proc.waitUntil('the start line', async () => {
      const started = lines
        .map((l) => JSON.parse(l) as { msg: string; port?: number })
        .find((l) => l.msg === 'ingest started');
      port = started?.port ?? 0;
      return port > 0;
    });
    const url = `http://127.0.0.1:${port}`;
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    // Every produce now takes 1.5 s: the request below is still waiting for its ack when SIGTERM arrives.
    await kafka.setBrokerRtt(1, 1500);
    const inFlight = fetch(`${url}/v1/batches`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ batch_id: 'in-flight', essay_count: 2 }),
    });
    await new Promise((r) => setTimeout(r, 300));
    const exit = proc.stop('SIGTERM', 15_000);
    const r = await inFlight;
    expect(r.status).toBe(202);
    expect(((await r.json()) as { event_id: string }).event_id).toBe(
      derivedEventId('ingest', 'registered', 'in-flight'),
    );
    expect(await exit).toEqual({ code: 0, signal: null });
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    const log = await readFile(logFile, 'utf8');
    expect(log).toContain('"signal":"SIGTERM"');
    expect(log).toContain('"msg":"stopped"');
  }, 60_000);
});
