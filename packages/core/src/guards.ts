import { bearerToken, secretsEqual } from './auth';
import { errorResponse, type AuthScheme, type Guard, type HttpRequest } from './http-route';

/** A secret the operator may have set, under the name of the variable that holds it. */
export interface NamedSecret {
  /** The variable's name, recorded as the request's principal: the audit's "who". */
  name: string;
  value: string | null;
  scheme: AuthScheme;
}

/**
 * Lets a request through when its credential (read by `given`) equals one of the configured
 * secrets. Every secret is compared, in constant time, so timing does not tell which one matched.
 * Fails closed: with none configured, nothing passes.
 */
export function secretGuard(secrets: NamedSecret[], given: (req: HttpRequest) => unknown, refusal: string, options: { readsBody?: boolean } = {}): Guard {
  const configured = secrets.filter((s) => s.value);
  return {
    accepts: [...new Set(secrets.map((s) => s.scheme))],
    readsBody: options.readsBody ?? false,
    check(req) {
      if (configured.length === 0) {
        return errorResponse(401, 'unauthorized', `${secrets.map((s) => s.name).join(' or ')} is not configured; this route is disabled`);
      }
      const value = given(req);
      const token = typeof value === 'string' ? value : null;
      const matches = configured.map((s) => secretsEqual(token, s.value));
      const index = matches.indexOf(true);
      if (index < 0) return errorResponse(401, 'unauthorized', refusal);
      req.principal = configured[index].name;
      req.credential = configured[index].scheme;
      return null;
    },
  };
}

/** Bearer ADMIN_TOKEN: the admin routes of every service. */
export function adminTokenGuard(adminToken: string | null): Guard {
  return secretGuard([{ name: 'ADMIN_TOKEN', value: adminToken, scheme: 'adminToken' }], (req) => bearerToken(req.headers.authorization), 'Missing or wrong Bearer token (ADMIN_TOKEN)');
}
