// Field schemas the bridge contract reuses: names, sizes, times, pool references. Each refusal reads
// as a sentence naming what is expected, because the web shell sends it back to the renderer as is.

import { z } from 'zod';
import { NAME_PATTERN } from '../names.js';

export const nameSchema = z.string({ error: 'must be a string' }).regex(NAME_PATTERN, {
  error: "must be 1-64 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit",
});

/** Bytes as a whole number >= 0 (used, free, allocated). */
export const bytesSchema = z
  .number({ error: 'must be a number of bytes' })
  .int({ error: 'must be a whole number of bytes' })
  .nonnegative({ error: 'must not be negative' })
  .max(Number.MAX_SAFE_INTEGER, { error: 'is too large' });

/** A size the admin asks for: > 0 bytes. The renderer parses '10G' with shared/names.ts parseSize. */
export const sizeSchema = bytesSchema.refine((n) => n > 0, { error: 'must be positive' });

/** Bytes per second; null means "not known" or "no limit", as each field says. */
export const rateSchema = z.number().nonnegative({ error: 'must not be negative' });

/** An ISO 8601 UTC time as the core stores it ("2026-11-25T13:35:11.000Z"). */
export const timeSchema = z.iso.datetime({ error: 'must be an ISO 8601 time' });

export const epochSchema = z.number().int().nonnegative();

export const hostSchema = z
  .string({ error: 'must be a string' })
  .min(1, { error: 'must not be empty' })
  .max(253, { error: 'is too long' })
  .regex(/^[A-Za-z0-9.:[\]_-]+$/, { error: 'must be a host name or an IP address' });

export const portSchema = z
  .number({ error: 'must be a number' })
  .int({ error: 'must be a whole number' })
  .min(1, { error: 'must be 1-65535' })
  .max(65535, { error: 'must be 1-65535' });

/** OpenSSH's form of a host key fingerprint: "SHA256:" then unpadded base64. */
export const fingerprintSchema = z
  .string()
  .regex(/^SHA256:[A-Za-z0-9+/]{43}$/, { error: 'must be a SHA256 fingerprint like SHA256:abc...' });

/** Where a logical volume lives: APPLIANCE/POOL. */
export const poolRefSchema = z.strictObject({ appliance: nameSchema, pool: nameSchema });
export type PoolRef = z.infer<typeof poolRefSchema>;

export function formatPoolRef(ref: PoolRef): string {
  return `${ref.appliance}/${ref.pool}`;
}

/** A duration estimate and what it rests on: throughput measured on this link, or a guess. */
export const estimateSchema = z.object({
  seconds: z.number().nonnegative().nullable(),
  basis: z.enum(['measured', 'guess']),
  rateBps: rateSchema.nullable(),
});
export type Estimate = z.infer<typeof estimateSchema>;

/** A FerryError as it crosses the bridge (code kept unchanged; see shared/errors.ts). */
export const errorInfoSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type ErrorInfo = z.infer<typeof errorInfoSchema>;
