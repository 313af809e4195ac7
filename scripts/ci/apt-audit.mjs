#!/usr/bin/env node
// Which Debian packages this machine carries beyond a new machine of its kind, and whether a script of
// the project installed each of them. A green CI on a machine that got a package by accident (by hand,
// or as a Recommends of something installed without --no-install-recommends) proves nothing about a new
// one: that is how a missing container DNS plugin once stayed hidden.
//
//   node scripts/ci/apt-audit.mjs            # the table; exit 1 when something is present by accident
//   node scripts/ci/apt-audit.mjs --purge    # also removes those packages, so the machine is as new again
//   node scripts/ci/apt-audit.mjs --print-installed   # dpkg's installed list (to recapture the baseline)
//
// The three lists it compares:
//   baseline  scripts/ci/baseline-packages.txt: what a new machine has before any project script runs;
//   declared  scripts/apt-packages.txt: what the project's scripts install (scripts/lib/apt.sh);
//   needed    declared plus everything they depend on (Depends and Pre-Depends, recursively, as apt
//             resolves them without recommends: for an alternative or a virtual package, the first choice);
// and reports every installed package in none of them, with the apt command that brought it in.
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const args = process.argv.slice(2);
for (const a of args)
  if (!['--purge', '--print-installed', '--quiet'].includes(a)) {
    console.error(`apt-audit: unknown argument ${JSON.stringify(a)}; expected --purge, --print-installed or --quiet`);
    process.exit(2);
  }

const lines = (file) =>
  readFileSync(join(root, file), 'utf8')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

function installed() {
  const out = execFileSync('dpkg-query', ['-W', '-f=${db:Status-Abbrev} ${Package}\n'], { encoding: 'utf8' });
  return new Set(
    out
      .split('\n')
      .filter((l) => l.startsWith('ii'))
      .map((l) => l.split(/\s+/)[1]),
  );
}

if (args.includes('--print-installed')) {
  console.log([...installed()].sort().join('\n'));
  process.exit(0);
}

const have = installed();
const baseline = new Set(lines('scripts/ci/baseline-packages.txt'));
const declared = lines('scripts/apt-packages.txt').map((l) => ({ pkg: l.split(/\s+/)[0], group: l.split(/\s+/)[1] }));

/**
 * One level of `apt-cache depends` for many packages: each package's dependencies, an alternative group
 * or a virtual package reduced to the one apt would pick on a new machine (an installed choice if any,
 * else the first).
 */
function dependsOf(pkgs) {
  const out = spawnSync(
    'apt-cache',
    [
      'depends',
      '--no-recommends',
      '--no-suggests',
      '--no-conflicts',
      '--no-breaks',
      '--no-replaces',
      '--no-enhances',
      ...pkgs,
    ],
    { encoding: 'utf8', maxBuffer: 64 << 20 },
  ).stdout;
  const deps = [];
  // One dependency: its alternatives ("|Depends" chains them), each a list of names (a virtual package's
  // providers follow it, indented).
  let group = [];
  let open = false; // the last line was "|Depends": the next one belongs to the same group
  const resolve = () => {
    const names = group.flat();
    if (names.length > 0) deps.push(names.find((n) => have.has(n)) ?? names[0]);
    group = [];
  };
  for (const line of out.split('\n')) {
    const dep = /^\s(\||\s)(?:Pre)?Depends: (<)?([^<>\s]+)>?/.exec(line);
    const provider = /^\s{4}(\S+)$/.exec(line);
    if (dep) {
      if (!open) resolve();
      const [, orNext, isVirtual, name] = dep;
      group.push(isVirtual ? [] : [name]);
      open = orNext === '|';
    } else if (provider && group.length > 0) {
      group[group.length - 1].push(provider[1]);
    } else if (/^\S/.test(line) || /^\s\s?\w+:/.test(line)) {
      // A package header, or a relation this asks not to follow: the dependency before it is complete.
      if (!open) resolve();
    }
  }
  resolve();
  return deps.filter((d) => d !== undefined && d !== '');
}

const needed = new Set();
let frontier = declared.map((d) => d.pkg).filter((p) => have.has(p));
while (frontier.length > 0) {
  for (const p of frontier) needed.add(p);
  frontier = [...new Set(dependsOf(frontier))].filter((p) => have.has(p) && !needed.has(p));
}

/** The apt command line that installed each package, from apt's history (newest wins). */
function installedBy() {
  const by = new Map();
  for (const file of ['/var/log/apt/history.log']) {
    if (!existsSync(file)) continue;
    let cmd = '';
    for (const line of readFileSync(file, 'utf8').split('\n')) {
      if (line.startsWith('Commandline: ')) cmd = line.slice('Commandline: '.length);
      if (line.startsWith('Install: '))
        for (const m of line.slice('Install: '.length).matchAll(/([^\s,:]+):[^ ]+ \([^)]*\)/g)) by.set(m[1], cmd);
    }
  }
  return by;
}

const accidental = [...have].filter((p) => !baseline.has(p) && !needed.has(p)).sort();
const notYet = declared.filter((d) => !have.has(d.pkg));
const quiet = args.includes('--quiet');
if (!quiet) {
  console.log(
    `apt-audit: ${declared.length} packages declared in scripts/apt-packages.txt, ${needed.size} installed with what they depend on; baseline ${baseline.size}; installed ${have.size}`,
  );
  for (const d of notYet)
    console.log(`  not installed yet: ${d.pkg} (group ${d.group}; its script installs it when it runs)`);
}
if (accidental.length === 0) {
  console.log('apt-audit: every installed package is in the baseline or installed by a script of the project');
  process.exit(0);
}
const by = installedBy();
console.log(
  `apt-audit: ${accidental.length} package(s) present by accident (neither baseline nor installed by a project script):`,
);
for (const p of accidental) console.log(`  ${p}${by.has(p) ? `  (from: ${by.get(p)})` : ''}`);

if (!args.includes('--purge')) {
  console.log(
    'apt-audit: a test that passes only because of one of these will fail on a new machine; rerun with --purge to remove them, or list what needs them in scripts/apt-packages.txt',
  );
  process.exit(1);
}
// Remove only when apt would remove nothing else: a package in the baseline or the needed set that depends
// on one of these means the lists above are wrong, and that is said instead.
const sim = spawnSync('apt-get', ['remove', '--simulate', ...accidental], { encoding: 'utf8' }).stdout ?? '';
const removes = [...sim.matchAll(/^Remv (\S+)/gm)].map((m) => m[1]);
const collateral = removes.filter((p) => !accidental.includes(p));
if (collateral.length > 0) {
  console.log(
    `apt-audit: not purging: apt would also remove ${collateral.join(', ')}, which the baseline or a project script needs`,
  );
  process.exit(1);
}
const r = spawnSync('apt-get', ['remove', '--purge', '-y', '-qq', ...accidental], {
  stdio: ['ignore', 'ignore', 'inherit'],
  env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
});
if (r.status !== 0) {
  console.log(`apt-audit: apt-get remove failed (exit ${r.status})`);
  process.exit(1);
}
console.log(`apt-audit: purged ${accidental.join(', ')}`);
