/**
 * The workspace's architecture, checked: no import cycle anywhere, and the
 * layers of ARCHITECTURE.md — what may import what. `tests/architecture.test.ts`
 * runs it on every `npm test`; by hand: `npx depcruise --config .dependency-cruiser.cjs apps packages scenarios dashboards`.
 */
const io = '^(node:)?(fs|fs/promises|net|http|https|http2|child_process|dgram|tls|worker_threads|cluster)$';
const servers =
  '^(ioredis|pg|kafkajs|testcontainers|@testcontainers/.*|koffi|undici|toxiproxy-node-client|prom-client)$';

/** A layer may import only the packages listed (and itself). */
const layer = (name, from, allowed) => ({
  name,
  severity: 'error',
  comment: `${from} may import only ${allowed.join(', ') || 'nothing of the workspace'} (ARCHITECTURE.md)`,
  from: { path: from, pathNot: '\\.test\\.ts$' },
  to: {
    path: '^(packages|apps|scenarios|dashboards)/',
    pathNot: [from, ...allowed.map((a) => `^${a}/`)],
  },
});

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'An import cycle: modules that cannot be understood, tested or loaded one without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'model-is-pure',
      severity: 'error',
      comment: 'The model (history, checkers, workloads) does no I/O and knows no server.',
      from: { path: '^packages/model/src/', pathNot: '\\.test\\.ts$' },
      to: {
        path: [io, servers],
        dependencyTypes: ['core', 'npm', 'npm-dev', 'npm-peer', 'npm-optional', 'npm-no-pkg', 'npm-unknown'],
      },
    },
    layer('errors-is-the-bottom', '^packages/errors/', []),
    layer('contracts-layer', '^packages/contracts/', ['packages/errors']),
    layer('model-layer', '^packages/model/', ['packages/errors', 'packages/contracts']),
    layer('service-kit-layer', '^packages/service-kit/', ['packages/errors', 'packages/contracts']),
    layer('coordinator-never-imports-the-lab', '^apps/coordinator/', [
      'packages/errors',
      'packages/contracts',
      'packages/service-kit',
    ]),
    layer('ingest-never-imports-the-lab', '^apps/ingest/', [
      'packages/errors',
      'packages/contracts',
      'packages/service-kit',
    ]),
    layer('fault-proxy-stands-alone', '^packages/fault-proxy/', ['packages/errors']),
    layer('report-stands-alone', '^packages/report/', ['packages/errors']),
    layer('lab-layer', '^packages/lab/', [
      'packages/errors',
      'packages/contracts',
      'packages/model',
      'packages/fault-proxy',
      'packages/report',
    ]),
    {
      name: 'scenarios-use-public-entry-points',
      severity: 'error',
      comment: 'A scenario imports the lab and the model by their entry points, never their internals.',
      from: { path: '^scenarios/' },
      to: {
        path: '^packages/(lab|model)/src/',
        pathNot: '^packages/(lab|model)/src/(index|testing)\\.ts$|^packages/model/src/checkers/test-support\\.ts$',
      },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules|\\.test-build)/|^tests/fixtures/' },
    tsConfig: { fileName: 'tsconfig.base.json' },
    tsPreCompilationDeps: true,
    enhancedResolveOptions: {
      conditionNames: ['chaos-lab-source', 'import', 'types', 'node', 'default'],
      exportsFields: ['exports'],
      extensions: ['.ts', '.js', '.json'],
    },
  },
};
