import type { FieldError } from './field-error';

/**
 * Finds what no signal may carry anywhere in its body, at any depth:
 * - control characters and lone UTF-16 surrogates in a string value or an object key. Postgres
 *   refuses `\u0000` in JSONB, so one such signal used to stall the audit trail; a lone surrogate
 *   cannot be written as UTF-8 at all; and a control character in a key or a field tsp reads is
 *   never meant and can hide what a value says. Tab, CR and LF are ordinary text in a passthrough
 *   value (a note, a comment) and are allowed there only;
 * - numbers that are not finite. JSON.parse reads `1e999` as Infinity, which JSON cannot write
 *   back: a passthrough `qty` of 1e999 would reach the destination as null.
 */

/** C0 controls, DEL and C1 controls. */
// eslint-disable-next-line no-control-regex -- matching control characters is this module's job
const CONTROL = /[\u0000-\u001F\u007F-\u009F]/;
/** The same without tab, CR and LF. */
// eslint-disable-next-line no-control-regex -- as above
const CONTROL_BUT_LINE_BREAKS_AND_TABS = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F-\u009F]/;
/** A high surrogate not followed by a low one, or a low one not preceded by a high one. */
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const UNPRINTABLE = new RegExp(`${CONTROL.source}|${LONE_SURROGATE.source}`, 'g');

/**
 * Every problem value or key of a parsed body, named by its path (`note`, `meta.note`, `tags[2]`,
 * or the key itself). Values of `ownFields` (top-level fields tsp reads itself) may not hold tab,
 * CR or LF either.
 */
export function inspectValues(body: Record<string, unknown>, ownFields: ReadonlySet<string>): FieldError[] {
  return Object.entries(body).flatMap(([key, value]) => inspectEntry('', key, value, !ownFields.has(key)));
}

function inspectEntry(parentPath: string, key: string, value: unknown, passthrough: boolean): FieldError[] {
  const path = parentPath === '' ? printable(key) : `${parentPath}.${printable(key)}`;
  const keyProblem = problemOf(key, CONTROL);
  const errors = keyProblem ? [{ field: path, message: `the key "${printable(key)}" holds ${keyProblem}` }] : [];
  return [...errors, ...inspectValue(path, value, passthrough)];
}

function inspectValue(path: string, value: unknown, passthrough: boolean): FieldError[] {
  if (typeof value === 'string') {
    const problem = problemOf(value, passthrough ? CONTROL_BUT_LINE_BREAKS_AND_TABS : CONTROL);
    return problem ? [{ field: path, message: `${path} holds ${problem}` }] : [];
  }
  if (typeof value === 'number' && !Number.isFinite(value)) {
    return [{ field: path, message: `${path} must be a finite number, not ${value} (JSON's 1e999 is read as Infinity)` }];
  }
  if (Array.isArray(value)) return value.flatMap((item, index) => inspectValue(`${path}[${index}]`, item, passthrough));
  if (value !== null && typeof value === 'object') {
    return Object.entries(value).flatMap(([key, item]) => inspectEntry(path, key, item, passthrough));
  }
  return [];
}

function problemOf(text: string, control: RegExp): string | null {
  const character = control.exec(text)?.[0];
  if (character !== undefined) return `the control character ${codeUnit(character)}`;
  const surrogate = LONE_SURROGATE.exec(text)?.[0];
  if (surrogate !== undefined) return `a lone UTF-16 surrogate ${codeUnit(surrogate)}, which no UTF-8 text can carry`;
  return null;
}

/** A key as it can be shown in an error: control characters and lone surrogates as \uXXXX. */
function printable(key: string): string {
  return key.replace(UNPRINTABLE, (character) => `\\u${hex(character)}`);
}

function codeUnit(character: string): string {
  return `U+${hex(character)}`;
}

function hex(character: string): string {
  return character.charCodeAt(0).toString(16).toUpperCase().padStart(4, '0');
}
