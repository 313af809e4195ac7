/**
 * What a GitHub workflow's steps run, and whether each of it exists in this workspace — the static
 * check of `tests/workflows.test.ts`. A workflow is only tried on GitHub, so a step that runs
 * `npm run no-such-script` or a lab subcommand that was renamed would fail there, long after review.
 *
 * `shellCommands` splits a `run:` script into its simple commands as bash would (`&&`, `||`, `;`,
 * `|`, newlines, line continuations, `$(…)`), and strips what only wraps a command: `VAR=…` prefixes,
 * `env` and `sudo`, redirections, `if`/`then`/`do`/… keywords. `commandProblem` then says what is
 * missing: an npm script of the named package, a subcommand of the lab CLI, a bin of
 * node_modules/.bin, an executable file of the repository — or a command that is none of these and
 * not on the explicit allow-list of shell builtins and standard tools.
 */
import { accessSync, constants, existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join, normalize } from 'node:path';
import { parse } from 'yaml';

export interface ShellCommand {
  /** The command's words, quotes removed, without its `VAR=…` prefixes, wrappers and redirections. */
  readonly words: readonly string[];
  /** The command as written, continuations joined: what a message quotes. */
  readonly text: string;
}

interface Token {
  /** As written, quotes included: tells a redirection or an assignment from a quoted word. */
  readonly raw: string;
  /** As the command sees it: quotes removed. */
  readonly value: string;
}

interface RawCommand {
  readonly tokens: Token[];
  readonly text: string;
}

/** `${{ … }}` may hold spaces and quotes; it is one opaque piece of a word to the shell. */
const EXPRESSION = /\$\{\{[\s\S]*?\}\}/g;
const MASK = '\uE000'; // a private-use character: no script holds one

/** The simple commands of a shell script, in order; those inside `$(…)` follow the one holding them. */
export function shellCommands(script: string): ShellCommand[] {
  const expressions: string[] = [];
  const masked = script.replace(EXPRESSION, (e) => `${MASK}${expressions.push(e) - 1}${MASK}`).replace(/\\\r?\n/g, ' ');
  const unmask = (s: string) => s.replace(/\uE000(\d+)\uE000/g, (_, i: string) => expressions[Number(i)] ?? '');
  const raw: RawCommand[] = [];
  split(masked, raw);
  return raw
    .map((c) => ({ words: commandWords(c.tokens).map(unmask), text: unmask(c.text.replace(/\s+/g, ' ')) }))
    .filter((c) => c.words.length > 0);
}

/** The index just past the `)` that closes the `$(` whose body starts at `from`. */
function closeOfSubstitution(src: string, from: number): number {
  let depth = 1;
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === "'") i = Math.max(src.indexOf("'", i + 1), i);
    else if (c === '"') i = closeOfDoubleQuote(src, i + 1) - 1;
    else if (c === '(') depth++;
    else if (c === ')' && --depth === 0) return i + 1;
  }
  throw new Error(`unclosed $( in: ${src.slice(from - 2, from + 60)}`);
}

/** The index just past the `"` that closes a double-quoted string whose body starts at `from`. */
function closeOfDoubleQuote(src: string, from: number): number {
  for (let i = from; i < src.length; i++) {
    const c = src[i];
    if (c === '\\') i++;
    else if (c === '$' && src[i + 1] === '(') i = closeOfSubstitution(src, i + 2) - 1;
    else if (c === '"') return i + 1;
  }
  throw new Error(`unclosed " in: ${src.slice(from - 1, from + 60)}`);
}

/** Splits `src` into simple commands (appended to `out`), recursing into every `$(…)` and backquote. */
function split(src: string, out: RawCommand[]): void {
  const substitutions: string[] = [];
  let tokens: Token[] = [];
  let raw = '';
  let value = '';
  let start = 0;
  const endWord = () => {
    if (raw !== '') tokens.push({ raw, value });
    raw = '';
    value = '';
  };
  const endCommand = (end: number, next: number) => {
    endWord();
    if (tokens.length > 0) out.push({ tokens, text: src.slice(start, end).trim() });
    for (const body of substitutions.splice(0)) split(body, out);
    tokens = [];
    start = next;
  };
  for (let i = 0; i < src.length;) {
    const c = src[i] as string;
    const next = src[i + 1];
    const inRedirection = /[<>]$/.test(raw) || (c === '&' && next === '>');
    if (
      c === '\n' ||
      c === ';' ||
      c === '(' ||
      c === ')' ||
      (c === '|' && !inRedirection) ||
      (c === '&' && !inRedirection)
    ) {
      const width = (c === '&' || c === '|' || c === ';') && next === c ? 2 : 1;
      endCommand(i, i + width);
      i += width;
    } else if (c === ' ' || c === '\t' || c === '\r') {
      endWord();
      i++;
    } else if (c === '#' && raw === '') {
      const eol = src.indexOf('\n', i);
      i = eol === -1 ? src.length : eol;
    } else if (c === '\\') {
      raw += src.slice(i, i + 2);
      value += next ?? '';
      i += 2;
    } else if (c === "'") {
      const close = src.indexOf("'", i + 1);
      if (close === -1) throw new Error(`unclosed ' in: ${src.slice(i, i + 60)}`);
      raw += src.slice(i, close + 1);
      value += src.slice(i + 1, close);
      i = close + 1;
    } else if (c === '"') {
      const close = closeOfDoubleQuote(src, i + 1);
      const body = src.slice(i + 1, close - 1);
      for (let k = 0; k < body.length; k++) {
        if (body[k] === '\\') k++;
        else if (body[k] === '$' && body[k + 1] === '(') {
          const end = closeOfSubstitution(body, k + 2);
          if (body[k + 2] !== '(') substitutions.push(body.slice(k + 2, end - 1));
          k = end - 1;
        }
      }
      raw += src.slice(i, close);
      value += body.replace(/\\([$`"\\])/g, '$1');
      i = close;
    } else if (c === '$' && next === '(') {
      const close = closeOfSubstitution(src, i + 2);
      if (src[i + 2] !== '(') substitutions.push(src.slice(i + 2, close - 1));
      raw += src.slice(i, close);
      value += src.slice(i, close);
      i = close;
    } else if (c === '`') {
      const close = src.indexOf('`', i + 1);
      if (close === -1) throw new Error(`unclosed \` in: ${src.slice(i, i + 60)}`);
      substitutions.push(src.slice(i + 1, close));
      raw += src.slice(i, close + 1);
      value += src.slice(i, close + 1);
      i = close + 1;
    } else if (c === '<' && next === '<' && src[i + 2] !== '<' && raw === '') {
      throw new Error(`a here-document is beyond this check: put the text in a file (${src.slice(i, i + 40)})`);
    } else {
      raw += c;
      value += c;
      i++;
    }
  }
  endCommand(src.length, src.length);
}

const KEYWORDS = new Set(['if', 'then', 'else', 'elif', 'fi', 'do', 'done', 'while', 'until', '!', '{', '}', 'time']);
/** Headers of compound commands: not commands themselves (their bodies are split apart anyway). */
const HEADERS = new Set(['for', 'case', 'select', 'function', 'esac']);
const REDIRECTION = /^(\d+|&)?(>>|>&|>\||<<<|<&|<>|>|<)/;
const ASSIGNMENT = /^[A-Za-z_][A-Za-z0-9_]*=/;
/** Options of sudo and env that take a value. */
const SUDO_VALUE_OPTIONS = new Set(['-u', '-g', '-C', '-h', '-p', '-r', '-t', '-U', '-D']);
const ENV_VALUE_OPTIONS = new Set(['-u', '-C', '-S', '--unset', '--chdir', '--split-string']);

function commandWords(tokens: readonly Token[]): string[] {
  let words: Token[] = [];
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] as Token;
    const m = REDIRECTION.exec(t.raw);
    if (m === null) words.push(t);
    else if (m[0].length === t.raw.length) i++; // the target is the next word
  }
  for (;;) {
    const first = words[0];
    if (first === undefined) return [];
    if (KEYWORDS.has(first.raw) || ASSIGNMENT.test(first.raw) || ['exec', 'command', 'nohup'].includes(first.raw)) {
      words = words.slice(1);
    } else if (first.value === 'sudo' || first.value === 'env') {
      const withValue = first.value === 'sudo' ? SUDO_VALUE_OPTIONS : ENV_VALUE_OPTIONS;
      let i = 1;
      for (; i < words.length; i++) {
        const w = words[i] as Token;
        if (withValue.has(w.value)) i++;
        else if (!w.value.startsWith('-') && !(first.value === 'env' && ASSIGNMENT.test(w.value))) break;
      }
      words = words.slice(i);
    } else if (HEADERS.has(first.raw)) {
      return [];
    } else {
      return words.map((w) => w.value);
    }
  }
}

/** Shell builtins and standard tools a step may run without the check looking further. */
export const STANDARD_COMMANDS: ReadonlySet<string> = new Set([
  // builtins
  ...['cd', 'echo', 'printf', 'export', 'set', 'unset', 'shopt', 'test', '[', '[[', 'true', 'false', 'exit'],
  ...['read', 'trap', 'wait', 'local', 'return', 'break', 'continue'],
  // tools of every runner image
  ...['cat', 'mkdir', 'ls', 'cp', 'mv', 'rm', 'find', 'tee', 'head', 'tail', 'grep', 'sed', 'awk', 'wc', 'sort'],
  ...['uniq', 'tr', 'cut', 'xargs', 'date', 'seq', 'sleep', 'touch', 'chmod', 'tar', 'du', 'df', 'basename'],
  ...['dirname', 'realpath', 'uname', 'id', 'nproc', 'git'],
]);

export interface WorkspacePackage {
  /** Relative to the root, `.` for the root. */
  readonly dir: string;
  readonly name: string;
  readonly scripts: Readonly<Record<string, string>>;
}

export interface Workspace {
  readonly root: string;
  /** The root package first, then every workspace of its `workspaces`. */
  readonly packages: readonly WorkspacePackage[];
  /** The names in node_modules/.bin. */
  readonly bins: ReadonlySet<string>;
  /** The lab CLI's subcommands, each the literal words of one usage line (`['env', 'up']`, `['run']`). */
  readonly labCommands: readonly (readonly string[])[];
}

/** The literal leading words of each `lab …` line of the lab CLI's usage text, each once. */
export function labCommandsOf(usage: string): string[][] {
  const commands: string[][] = [];
  for (const line of usage.split('\n')) {
    const m = /^\s*lab\s+(.*)$/.exec(line);
    if (m === null) continue;
    const synopsis = (m[1] as string).split(/\s{2,}/)[0] as string; // the description follows after a gap
    const words: string[] = [];
    for (const w of synopsis.split(/\s+/)) {
      if (!/^[a-z][\w-]*$/.test(w)) break; // <suite>, [--seed N], --all, |
      words.push(w);
    }
    if (words.length > 0 && !commands.some((c) => c.join(' ') === words.join(' '))) commands.push(words);
  }
  return commands;
}

export function readWorkspace(root: string, labUsage: string): Workspace {
  const readPackage = (dir: string): WorkspacePackage => {
    const json = JSON.parse(readFileSync(join(root, dir, 'package.json'), 'utf8')) as {
      name: string;
      scripts?: Record<string, string>;
      workspaces?: string[];
    };
    return { dir, name: json.name, scripts: json.scripts ?? {} };
  };
  const rootJson = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { workspaces?: string[] };
  const dirs = (rootJson.workspaces ?? []).flatMap((pattern) => {
    if (!pattern.endsWith('/*')) return [pattern];
    const parent = pattern.slice(0, -2);
    return readdirSync(join(root, parent), { withFileTypes: true })
      .filter((e) => e.isDirectory() && existsSync(join(root, parent, e.name, 'package.json')))
      .map((e) => `${parent}/${e.name}`);
  });
  return {
    root,
    packages: [readPackage('.'), ...dirs.map(readPackage)],
    bins: new Set(readdirSync(join(root, 'node_modules', '.bin'))),
    labCommands: labCommandsOf(labUsage),
  };
}

/** The lab CLI as a package script runs it: `node packages/lab/dist/cli.js [words…]`. */
const LAB_SCRIPT = /^node\s+(?:\.\/)?packages\/lab\/dist\/cli\.js((?:\s+[\w:.-]+)*)\s*$/;

/** What is missing for `words` to run here, or undefined when everything it names exists. */
export function commandProblem(words: readonly string[], ws: Workspace): string | undefined {
  const [command, ...args] = words;
  if (command === undefined) return undefined;
  if (command.includes(MASK) || command.startsWith('$'))
    return `the command is not literal ("${command}"): it cannot be checked`;
  if (STANDARD_COMMANDS.has(command)) return undefined;
  switch (command) {
    case 'npm':
      return npmProblem(args, ws);
    case 'npx':
      return npxProblem(args, ws);
    case 'bash':
    case 'sh': {
      const c = args.indexOf('-c');
      if (c === -1) return scriptProblem(command, args, new Set(), ws);
      for (const inner of shellCommands(args[c + 1] ?? '')) {
        const problem = commandProblem(inner.words, ws);
        if (problem !== undefined) return `${inner.text}: ${problem}`;
      }
      return undefined;
    }
    case 'node':
      if (args.some((a) => ['-e', '--eval', '-p', '--print'].includes(a))) return undefined; // the code is the step's
      return scriptProblem(command, args, new Set(['--import', '-r', '--require', '--loader']), ws);
  }
  if (command.includes('/')) return fileProblem(command, ws, true);
  return `"${command}" is neither a command of the workspace (npm script, lab subcommand, npx bin, a file of the repository) nor on the allow-list of shell builtins and standard tools`;
}

/** `bash|sh|node [options] <file> [args]`: the file must be in the repository. */
function scriptProblem(command: string, args: readonly string[], withValue: ReadonlySet<string>, ws: Workspace) {
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (withValue.has(a)) i++;
    else if (!a.startsWith('-')) return fileProblem(a, ws, false);
  }
  return `${command} without a script file`;
}

function fileProblem(path: string, ws: Workspace, executable: boolean): string | undefined {
  if (path.includes(MASK) || path.includes('$')) return `the path "${path}" is not literal: it cannot be checked`;
  if (path.startsWith('/')) return `"${path}" is outside the repository`;
  const file = join(ws.root, normalize(path));
  if (!existsSync(file) || !statSync(file).isFile()) return `no file "${path}" in the repository`;
  if (!executable) return undefined;
  try {
    accessSync(file, constants.X_OK);
    return undefined;
  } catch {
    return `"${path}" is not executable (chmod +x, and commit the mode)`;
  }
}

/** npm's own commands a step may run (those that run a package script are checked below). */
const NPM_COMMANDS = new Set(['ci', 'install', 'i', 'ls', 'view', 'config', 'cache', 'pack', 'version', 'audit']);
const NPM_SCRIPT_ALIASES: Readonly<Record<string, string>> = { test: 'test', t: 'test', tst: 'test', start: 'start' };

function npmProblem(args: readonly string[], ws: Workspace): string | undefined {
  let workspace: string | undefined;
  const positional: string[] = [];
  let passed: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const a = args[i] as string;
    if (a === '--') {
      passed = args.slice(i + 1);
      break;
    }
    if (a === '-w' || a === '--workspace') workspace = args[++i];
    else if (a.startsWith('--workspace=')) workspace = a.slice('--workspace='.length);
    else if (!a.startsWith('-')) positional.push(a);
  }
  const [sub, ...rest] = positional;
  if (sub === undefined) return 'npm without a command';
  let script: string | undefined;
  if (sub in NPM_SCRIPT_ALIASES) script = NPM_SCRIPT_ALIASES[sub];
  else if (['run', 'run-script', 'rum', 'urn'].includes(sub)) script = rest.shift();
  else if (NPM_COMMANDS.has(sub)) return undefined;
  else return `"npm ${sub}" is not an npm command this check knows (npm run <script>, npm test, npm ci)`;
  if (script === undefined) return 'npm run without a script name';

  const pkg =
    workspace === undefined
      ? ws.packages[0]
      : ws.packages.find((p) => p.name === workspace || p.dir === normalize(workspace).replace(/\/$/, ''));
  if (pkg === undefined)
    return `no workspace "${workspace}" (workspaces: ${ws.packages
      .slice(1)
      .map((p) => p.dir)
      .join(', ')})`;
  const where = pkg.dir === '.' ? 'the root package.json' : `${pkg.dir}/package.json`;
  const body = pkg.scripts[script];
  if (body === undefined)
    return `no script "${script}" in ${where} (its scripts: ${Object.keys(pkg.scripts).join(', ')})`;

  const lab = pkg.dir === '.' ? LAB_SCRIPT.exec(body) : null;
  if (lab === null) return undefined;
  const labArgs = [...(lab[1] ?? '').trim().split(/\s+/).filter(Boolean), ...rest, ...passed];
  return labProblem(labArgs, ws, `npm run ${script}`);
}

function labProblem(args: readonly string[], ws: Workspace, via: string): string | undefined {
  const known = ws.labCommands.map((c) => c.join(' ')).join(', ');
  if (ws.labCommands.some((c) => c.every((w, i) => args[i] === w))) return undefined;
  const asked = args
    .slice(0, 2)
    .filter((a) => !a.startsWith('-'))
    .join(' ');
  if (asked === '') return `${via} without a lab subcommand (the lab CLI's usage has: ${known})`;
  return `the lab CLI has no subcommand "${asked}" (its usage has: ${known})`;
}

function npxProblem(args: readonly string[], ws: Workspace): string | undefined {
  const bin = args.find((a) => !a.startsWith('-'));
  if (bin === undefined) return 'npx without a command';
  if (!ws.bins.has(bin)) return `no bin "${bin}" in node_modules/.bin (npx would download it)`;
  return undefined;
}

/** One command of one step that is missing something, or one action that is not pinned. */
export interface WorkflowProblem {
  /** The workflow file, as given. */
  readonly file: string;
  readonly job: string;
  /** `step 3 "its name or id"`. */
  readonly step: string;
  /** The command as written, or the `uses:` value. */
  readonly command: string;
  readonly problem: string;
}

export const showProblem = (p: WorkflowProblem): string =>
  `${p.file}: job ${p.job}, ${p.step}: \`${p.command}\`: ${p.problem}`;

interface Step {
  readonly id?: string;
  readonly name?: string;
  readonly run?: string;
  readonly uses?: string;
}
interface Job {
  readonly steps?: readonly Step[];
  readonly uses?: string;
}
export interface Workflow {
  readonly env?: Readonly<Record<string, unknown>>;
  readonly jobs: Readonly<Record<string, Job>>;
}

export function parseWorkflow(text: string): Workflow {
  const wf = parse(text) as Partial<Workflow> | null;
  if (wf === null || typeof wf.jobs !== 'object') throw new Error('not a workflow: no jobs');
  return wf as Workflow;
}

export const stepLabel = (step: Step, index: number): string =>
  `step ${index + 1} "${step.name ?? step.id ?? step.uses ?? step.run?.split('\n')[0] ?? ''}"`;

/** Every `run:` command of the workflow that names something missing, with where it is. */
export function missingCommands(file: string, wf: Workflow, ws: Workspace): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  for (const [job, { steps = [] }] of Object.entries(wf.jobs)) {
    steps.forEach((step, i) => {
      if (step.run === undefined) return;
      let commands: ShellCommand[];
      try {
        commands = shellCommands(step.run);
      } catch (err) {
        const command = step.run.split('\n')[0] ?? '';
        problems.push({ file, job, step: stepLabel(step, i), command, problem: (err as Error).message });
        return;
      }
      for (const c of commands) {
        const problem = commandProblem(c.words, ws);
        if (problem !== undefined) problems.push({ file, job, step: stepLabel(step, i), command: c.text, problem });
      }
    });
  }
  return problems;
}

/** A version tag (`@v4`, `@v4.1.2`) or a full commit sha: not a branch, which moves under the workflow. */
const PINNED = /@(v\d+(\.\d+){0,2}|[0-9a-f]{40})$/;

/** Every `uses:` (a step's or a reusable workflow's) that is not pinned to a version. */
export function unpinnedActions(file: string, wf: Workflow): WorkflowProblem[] {
  const problems: WorkflowProblem[] = [];
  const check = (uses: string | undefined, job: string, step: string) => {
    if (uses === undefined || uses.startsWith('./') || uses.startsWith('docker://') || PINNED.test(uses)) return;
    problems.push({
      file,
      job,
      step,
      command: uses,
      problem: 'not pinned to a version (@vN, @vN.N.N or a commit sha)',
    });
  };
  for (const [job, { steps = [], uses }] of Object.entries(wf.jobs)) {
    check(uses, job, 'the job');
    steps.forEach((step, i) => check(step.uses, job, stepLabel(step, i)));
  }
  return problems;
}
