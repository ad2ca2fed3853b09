import { cleanLeftovers, LEFTOVERS_ENV } from './leftovers';

/** Removes the template cluster and anything a fault file's afterAll did not get to. */
export default async function globalTeardown(): Promise<void> {
  const leftovers = process.env[LEFTOVERS_ENV];
  if (leftovers) cleanLeftovers(leftovers);
}
