/**
 * Works around prisma/orm#27403 inside the Prisma CLI process only: the wasm schema engine
 * introspects catalog columns of Postgres type "char" (OID 18) and name (OID 19), which
 * adapter-pg 6.19 cannot map, so every migrate command fails. Reporting them as text (OID 25)
 * when pg reads result fields is harmless for the catalog queries the engine runs.
 */
const CHAR_OID = 18;
const NAME_OID = 19;
const TEXT_OID = 25;

export function reportInternalNameTypesAsText(): void {
  const adapterEntry = require.resolve('@prisma/adapter-pg');
  const pgPath = require.resolve('pg', { paths: [adapterEntry] });
  // pg as adapter-pg resolves it (not this package's copy), found at run time: require, not import.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const Result = require(require.resolve('pg/lib/result', { paths: [pgPath] }));
  // pg's idle pool would keep the CLI alive ~10 s after it has finished.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  require(pgPath).defaults.idleTimeoutMillis = 50;
  const proto = Result.prototype as { addFields: (fields: { dataTypeID: number }[]) => void; __tspPatched?: boolean };
  if (proto.__tspPatched) return;
  const original = proto.addFields;
  proto.addFields = function addFields(fields) {
    for (const field of fields) {
      if (field.dataTypeID === CHAR_OID || field.dataTypeID === NAME_OID) field.dataTypeID = TEXT_OID;
    }
    return original.call(this, fields);
  };
  proto.__tspPatched = true;
}
