// `node bench/profile-summary.js <dir or .cpuprofile files>`: the largest self-time costs in
// profiles written by `node --cpu-prof` (run a bench with BENCH_NODE_ARGS="--cpu-prof
// --cpu-prof-dir=DIR"). Per profile: the ten functions and the ten packages with the most self time,
// as a share of the samples, so a before/after pair reads as which costs moved.
const fs = require('node:fs');
const path = require('node:path');

const TOP = Number(process.env.PROFILE_TOP || 10);

function profilesIn(args) {
  return args.flatMap((arg) => (fs.statSync(arg).isDirectory()
    ? fs.readdirSync(arg).filter((f) => f.endsWith('.cpuprofile')).map((f) => path.join(arg, f))
    : [arg]));
}

/** Self microseconds per node id, from the sample stream (timeDeltas[i] is the time before sample i). */
function selfTimes(profile) {
  const self = new Map();
  profile.samples.forEach((id, i) => self.set(id, (self.get(id) || 0) + (profile.timeDeltas[i] || 0)));
  return self;
}

/** Where a function lives: a package for dependencies, node's internals, or the project's file. */
function owner(url) {
  if (!url) return '(native/v8)';
  if (url.startsWith('node:')) return url;
  const pnpm = url.match(/node_modules\/\.pnpm\/[^/]+\/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (pnpm) return pnpm[1];
  const plain = url.match(/node_modules\/((?:@[^/]+\/)?[^/]+)/);
  if (plain) return plain[1];
  const project = url.match(/(services|packages)\/[^/]+/);
  return project ? project[0] : path.basename(url);
}

function summarize(file) {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8'));
  const self = selfTimes(profile);
  const byFunction = new Map();
  const byOwner = new Map();
  let total = 0;
  for (const node of profile.nodes) {
    const us = self.get(node.id) || 0;
    if (!us) continue;
    const { functionName, url, lineNumber } = node.callFrame;
    if (functionName === '(idle)') continue;
    total += us;
    const name = `${functionName || '(anonymous)'} ${url ? `${owner(url)}${url.startsWith('node:') ? '' : `/${path.basename(url)}`}:${lineNumber + 1}` : ''}`.trim();
    byFunction.set(name, (byFunction.get(name) || 0) + us);
    const group = functionName.startsWith('(') && !url ? functionName : owner(url);
    byOwner.set(group, (byOwner.get(group) || 0) + us);
  }
  const top = (map) => [...map].sort((a, b) => b[1] - a[1]).slice(0, TOP)
    .map(([name, us]) => `  ${(100 * us / total).toFixed(1).padStart(5)} %  ${(us / 1000).toFixed(0).padStart(6)} ms  ${name}`);
  return [`${path.basename(file)}: ${(total / 1000).toFixed(0)} ms busy`, ' functions (self time):', ...top(byFunction), ' packages (self time):', ...top(byOwner)].join('\n');
}

const files = profilesIn(process.argv.slice(2));
if (!files.length) {
  console.error('usage: node bench/profile-summary.js <dir|file.cpuprofile> ...');
  process.exit(2);
}
for (const file of files) console.log(`${summarize(file)}\n`);
