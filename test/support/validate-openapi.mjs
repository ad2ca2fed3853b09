// Validates an OpenAPI document (JSON on stdin) with @seriousme/openapi-schema-validator, against
// the official schema of the version it states. Prints {"valid", "version", "errors"}.
// A separate process because the validator is an ES module only, which jest's CommonJS runtime
// cannot load.
import { Validator } from '@seriousme/openapi-schema-validator';

const chunks = [];
for await (const chunk of process.stdin) chunks.push(chunk);
const validator = new Validator();
const result = await validator.validate(JSON.parse(Buffer.concat(chunks).toString('utf8')));
process.stdout.write(JSON.stringify({ valid: result.valid, version: validator.version, errors: result.errors ?? [] }));
