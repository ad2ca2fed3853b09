import { z } from 'zod';
import { finvizConfigFields } from '@tsp/core';

// eslint-disable-next-line no-control-regex -- refusing control characters is the point
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/;

/** A strategy's name: what an operator reads in the console; unique per deployment. */
const strategyName = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .refine((name) => !CONTROL.test(name), 'must not contain control characters')
  .transform((name) => name.normalize('NFC'));

export function strategyCreateSchema(allowedHosts: readonly string[]) {
  return z.object({ name: strategyName, ...finvizConfigFields(allowedHosts) }).strict();
}

export function strategyUpdateSchema(allowedHosts: readonly string[]) {
  return z
    .object({ name: strategyName, ...finvizConfigFields(allowedHosts) })
    .partial()
    .strict()
    .refine((change) => Object.keys(change).length > 0, 'give at least one of name, url, top_n, refresh');
}

export const StrategyDuplicateSchema = z.object({ name: strategyName.optional().describe('default: "<name> (copy)"') }).strict();

export const StrategyParamsSchema = z.object({ id: z.uuid().describe('the strategy id') });

export const StrategyViewSchema = z.object({
  id: z.string(),
  name: z.string(),
  url: z.string().describe('credentials masked'),
  top_n: z.number().int(),
  refresh: z.number().describe('seconds'),
  active: z.boolean().describe('the screener scrapes this one; exactly one is active once any exists'),
  created_at: z.string(),
  updated_at: z.string(),
});

export const StrategyListSchema = z.object({ items: z.array(StrategyViewSchema), active_id: z.string().nullable() });

export const StrategyChangedSchema = StrategyViewSchema.extend({
  announced: z.boolean().optional().describe('present when the screener config changed: false if the screeners could not be told at once (they re-read within 10 s)'),
});
