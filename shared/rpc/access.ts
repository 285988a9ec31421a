// Control RPC: who may reach a volume. Per-volume rules (allowed addresses, deny-all, read-only,
// host TLS) and the TLS-PSK identities of hosts. A key is returned once, by volume.psk.add.

import { z } from 'zod';
import { nameSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';

export const hostTlsSchema = z.enum(['off', 'allow', 'require']);

/** Same spelling as the identities the agent accepts (agent/access/access-policy.ts). */
export const pskIdentitySchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._@-]{0,63}$/, {
  error: "must be 1-64 characters of A-Z, a-z, 0-9, '.', '_', '@' or '-', starting with a letter or digit",
});

export const accessPolicySchema = z.object({
  /** CIDRs whose clients may connect ('127.0.0.0/8', '::1/128'). */
  allow: z.array(z.string()),
  denyAll: z.boolean(),
  readOnly: z.boolean(),
  hostTls: hostTlsSchema,
  pskIdentities: z.array(z.string()),
});
export type AccessPolicyInfo = z.infer<typeof accessPolicySchema>;

export const volumeAccessGet = defineMethod(
  'volume.access.get',
  z.strictObject({ name: nameSchema }),
  z.object({ name: nameSchema, policy: accessPolicySchema }),
);

export const volumeAccessSet = defineMethod(
  'volume.access.set',
  z.strictObject({
    name: nameSchema,
    /** Replaces the allow list (ADDR or CIDR entries, IPv4 or IPv6); also lifts deny-all. */
    allow: z.array(z.string()).min(1).max(256).optional(),
    denyAll: z.boolean().optional(),
    readOnly: z.boolean().optional(),
    hostTls: hostTlsSchema.optional(),
  }),
  z.object({
    name: nameSchema,
    policy: accessPolicySchema,
    /** Connections closed (after their in-flight requests) because the new rules refuse them. */
    disconnected: z.array(z.string()),
  }),
);

export const volumePskAdd = defineMethod(
  'volume.psk.add',
  z.strictObject({ name: nameSchema, identity: pskIdentitySchema }),
  z.object({
    name: nameSchema,
    identity: z.string(),
    /** The key in hex, shown this once; absent when the identity already had a key (it is shared). */
    key: z.string().optional(),
  }),
);

export const volumePskList = defineMethod(
  'volume.psk.list',
  z.strictObject({ name: nameSchema.optional() }),
  z.object({ psks: z.array(z.object({ volume: nameSchema, identity: z.string() })) }),
);

export const volumePskRemove = defineMethod(
  'volume.psk.remove',
  z.strictObject({ name: nameSchema, identity: pskIdentitySchema }),
  z.object({ name: nameSchema, identity: z.string() }),
);
