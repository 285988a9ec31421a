// Field schemas that several RPC domains share: names, sizes, epochs, mappings.

import { z } from 'zod';
import { NAME_PATTERN } from '../names.js';

export const nameSchema = z.string({ error: 'must be a string' }).regex(NAME_PATTERN, {
  error: "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
});

/** Bytes, as a whole positive number (clients parse '1G' etc. with shared/names.ts parseSize). */
export const sizeSchema = z
  .number({ error: 'must be a number of bytes' })
  .int({ error: 'must be a whole number of bytes' })
  .positive({ error: 'must be positive' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'is too large' });

export const epochSchema = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be at least 1' });

export const absolutePathSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .refine((p) => p.startsWith('/'), { error: 'must be an absolute path' })
  .refine((p) => !p.includes('\0'), { error: 'must not contain NUL' });

/** A vv served from an LV of one of this agent's pools. */
export const localMappingSchema = z.strictObject({
  kind: z.literal('local'),
  pool: nameSchema,
  lv: nameSchema,
});

/** A vv served from an LV on another appliance, reached with NBD over TLS-PSK. */
export const remoteMappingSchema = z.strictObject({
  kind: z.literal('remote'),
  url: z
    .string()
    .regex(/^nbds:\/\/[^/\s]+:\d+\/[^\s]*$/, { error: 'must look like nbds://HOST:PORT/EXPORT' }),
  pskIdentity: z.string().min(1).max(128),
});

export const mappingSchema = z.discriminatedUnion('kind', [localMappingSchema, remoteMappingSchema]);
export type Mapping = z.infer<typeof mappingSchema>;

export const emptyParamsSchema = z.strictObject({}).optional().default({});

export function describeMapping(mapping: Mapping): string {
  return mapping.kind === 'local' ? `${mapping.pool}/${mapping.lv}` : mapping.url;
}
