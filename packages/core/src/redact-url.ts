/**
 * Credentials ride in URLs: a password in `postgresql://user:pw@host/db`, a Finviz Elite API token
 * in `auth=`, a destination's token in its query. Whatever is shown, logged, audited or printed
 * in an error passes through redactUrl first.
 */

/** What replaces a credential. */
export const REDACTED = '***';

/**
 * Query parameter names that carry credentials: `auth`, `token`, `key`, `apikey`, `api_key`,
 * `secret`, `password`, `signature`, … and names built from them (`access_token`, `X-Api-Key`).
 */
const SECRET_PARAMETER = /auth|token|key|secret|passw|pwd|signature|^sig$|credential|session/i;

/** `scheme://user:password@`: the password runs to the last `@` before the host. */
const USERINFO_PASSWORD = /([a-z][a-z0-9+.-]*:\/\/[^\s/?#@:"'<>]*):([^\s/?#"'<>]*)@/gi;

/** `?name=value` or `&name=value` (also `;`, and `#name=value` of a fragment), anywhere in the text. */
const QUERY_PARAMETER = /([?&;#])([^=&#\s"'<>?;]+)=([^&#\s"'<>;]*)/g;

function decodedName(name: string): string {
  try {
    return decodeURIComponent(name);
  } catch {
    return name;
  }
}

/**
 * `raw` with userinfo passwords and secret-looking query values replaced by `***`, the rest kept
 * as written (Finviz's `f=a,b` stays readable). Works on a URL or on any text holding URLs (an
 * error message), valid or not: an invalid URL in a configuration error is redacted too.
 */
export function redactUrl(raw: string): string {
  return raw
    .replace(USERINFO_PASSWORD, (_match, head: string) => `${head}:${REDACTED}@`)
    .replace(QUERY_PARAMETER, (match, separator: string, name: string, value: string) =>
      value && SECRET_PARAMETER.test(decodedName(name)) ? `${separator}${name}=${REDACTED}` : match,
    );
}
