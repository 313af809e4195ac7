// Which HTTP client leaves the driver more headroom at a given rate: node:http with a keep-alive agent
// or global fetch (undici)? The stand-in service runs in a child process so the driver's CPU time is
// its own. Build first (npx tsc -b packages/load, or npm run build), then:
//   node packages/bench/micro/load-http-clients.mjs [rate=300] [seconds=15] [rounds=2]
import { spawn } from 'node:child_process';
import { parseProfile, runDriver } from '@chaos-lab/load';

const [rate = 300, seconds = 15, rounds = 2] = process.argv.slice(2).map(Number);

const serverCode = `
const http = require('node:http');
const server = http.createServer({ keepAliveTimeout: 30000 }, (req, res) => {
  req.resume();
  req.on('end', () => { res.writeHead(202, { 'Content-Type': 'application/json' }); res.end('{"outcome":"provisioned"}'); });
});
server.listen(0, '127.0.0.1', () => process.stdout.write(server.address().port + '\\n'));
`;
const server = spawn(process.execPath, ['-e', serverCode], { stdio: ['ignore', 'pipe', 'inherit'] });
const port = await new Promise((resolve) => server.stdout.once('data', (d) => resolve(Number(String(d).trim()))));

const profile = parseProfile({
  name: 'bench',
  seed: 1,
  arrival: { executor: 'constant-arrival-rate', rate, timeUnit: '1s', duration: `${seconds}s`, preAllocatedVUs: 20, maxVUs: 500 },
  batches: { sizeMin: 5, sizeMax: 30 },
  duplicateRatio: 0.05,
  validationFailureRatio: 0.03,
  textBytes: { min: 500, max: 5000 },
  thresholds: {},
});

try {
  for (let round = 0; round < rounds; round++) {
    for (const client of ['http', 'fetch']) {
      const cpu0 = process.cpuUsage();
      const result = await runDriver({ baseUrl: `http://127.0.0.1:${port}`, profile, runId: `bench-${client}-${round}`, client, progress: false });
      const cpu = process.cpuUsage(cpu0);
      const d = result.metrics.http_req_duration;
      console.log(
        `${client.padEnd(5)} cpu=${(((cpu.user + cpu.system) / 1000 / result.durationMs) * 100).toFixed(1)}% ` +
          `achieved=${result.schedule.achievedRate.toFixed(1)}/s dropped=${result.schedule.droppedIterations} ` +
          `p50=${d.med.toFixed(2)}ms p95=${d['p(95)'].toFixed(2)}ms p99=${d['p(99)'].toFixed(2)}ms ` +
          `vus_max=${result.metrics.vus_max.value} late_p95=${result.schedule.lateMs.p95.toFixed(1)}ms`,
      );
    }
  }
} finally {
  server.kill('SIGTERM');
}
