// Starts the lab's local environment (redis-server, PostgreSQL, the mock
// Kafka cluster, the fault proxy; no Prometheus) on the host, creates the
// pipeline's topics as the lab's stack does, writes the services' environment
// as JSON to <state file>, and holds it until SIGTERM/SIGINT, then stops it.
//
//   node scripts/podman/lab-env.mjs <built clone> <state file> <log dir>
//
// <built clone>: a checkout after `npm ci && npx tsc -b` (the lab is imported
// from its dist/, as any user of its public API would).
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { writeFile, rename } from 'node:fs/promises';

const [clone, stateFile, logDir] = process.argv.slice(2);
if (!clone || !stateFile || !logDir) {
  console.error('usage: node lab-env.mjs <built clone> <state file> <log dir>');
  process.exit(2);
}
const load = (p) => import(pathToFileURL(resolve(clone, p)).href);
const lab = await load('packages/lab/dist/index.js');
const contracts = await load('packages/contracts/dist/index.js');

const PREFIX = 'lab.';
const GROUP_ID = 'batch-coordinator';
const env = await lab.startEnvironment({ logDir, prometheus: false, kafkaBrokers: 3 });
let stopping;
const stop = (code) =>
  (stopping ??= env.stop().then(
    () => process.exit(code),
    (err) => {
      console.error('lab-env: stop failed:', err);
      process.exit(1);
    },
  ));
process.on('SIGTERM', () => stop(0));
process.on('SIGINT', () => stop(0));
try {
  const t = contracts.topics(PREFIX);
  for (const topic of contracts.inputTopics(t)) await env.kafka.createTopic(topic, 6);
  for (const topic of contracts.outputTopics(t)) await env.kafka.createTopic(topic, 3);
  await env.kafka.setCoordinator('group', GROUP_ID, lab.GROUP_COORDINATOR_BROKER);
  const state = {
    startupMs: Math.round(env.startupMs),
    endpoints: env.endpoints,
    coordinatorEnv: {
      ...env.coordinatorEnv(),
      COORDINATOR_TOPIC_PREFIX: PREFIX,
      COORDINATOR_KAFKA_GROUP_ID: GROUP_ID,
      COORDINATOR_KAFKA_SESSION_TIMEOUT_MS: '4000',
    },
    ingestEnv: {
      INGEST_POSTGRES_URL: env.endpoints.postgresUrl,
      INGEST_KAFKA_BROKERS: env.endpoints.kafkaBrokers.join(','),
      INGEST_KAFKA_IDEMPOTENT: 'false',
      INGEST_TOPIC_PREFIX: PREFIX,
    },
  };
  await writeFile(`${stateFile}.tmp`, JSON.stringify(state, null, 2));
  await rename(`${stateFile}.tmp`, stateFile);
  console.log(`lab-env: up in ${state.startupMs} ms: ${JSON.stringify(env.endpoints)}`);
} catch (err) {
  console.error('lab-env: setup failed:', err);
  await stop(1);
}
