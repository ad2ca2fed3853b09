// Validates Kubernetes objects (a JSON array on stdin) against the schema of their apiVersion and
// kind, from the kubernetes-models packages (the core API's OpenAPI schemas, and KEDA's and the
// Prometheus Operator's CRD schemas). Prints a JSON array of problems; empty means all valid.
// A separate process because those packages are ES modules only, which jest's CommonJS runtime
// cannot load.
const PACKAGE_OF_GROUP = {
  'keda.sh': '@kubernetes-models/keda',
  'monitoring.coreos.com': '@kubernetes-models/prometheus-operator',
};

async function modelOf({ apiVersion, kind }) {
  const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
  const pkg = PACKAGE_OF_GROUP[group] ?? 'kubernetes-models';
  try {
    const module = await import(`${pkg}/${apiVersion}/${kind}`);
    return module[kind];
  } catch {
    throw new Error(`no schema for ${apiVersion} ${kind} (group ${group || 'core'}, version ${version})`);
  }
}

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const objects = JSON.parse(Buffer.concat(chunks).toString('utf8'));
const problems = [];
for (const object of objects) {
  const where = `${object.apiVersion} ${object.kind} ${object.metadata?.name}`;
  try {
    const Model = await modelOf(object);
    new Model(object).validate();
  } catch (error) {
    problems.push(`${where}: ${error.message}`);
  }
}
process.stdout.write(JSON.stringify(problems));
