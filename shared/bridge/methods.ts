// The bridge's requests: one declaration per method (name, zod params, zod result). The shells validate
// params against it before the core sees a call, and the renderer's types come from it, so the core,
// the browser shell, the Electron app and the renderer cannot disagree on a field.

import { z } from 'zod';
import {
  fingerprintSchema,
  hostSchema,
  nameSchema,
  poolRefSchema,
  portSchema,
  sizeSchema,
} from './fields.js';
import {
  applianceSchema,
  consoleInfoSchema,
  hostKeySchema,
  inventorySchema,
  labStatusSchema,
  moveSchema,
  planSchema,
  planSummarySchema,
  poolSchema,
  preflightSchema,
  volumeHistorySchema,
  volumeSchema,
} from './model.js';
import { terminalMethods } from './terminal.js';

function method<P extends z.ZodType, R extends z.ZodType>(params: P, result: R) {
  return { params, result };
}

const none = z.strictObject({});
const ok = z.object({ ok: z.literal(true) });
const applianceName = z.strictObject({ name: nameSchema });
const moveId = z.strictObject({ id: z.string().min(1, { error: 'must name a move' }) });
const planName = z.strictObject({ name: nameSchema });

export const hostTlsModeSchema = z.enum(['off', 'allow', 'require']);

/** A volume's access rules: allowed CIDRs, deny-all, read-only, host TLS, the hosts' PSK identities. */
export const volumeAccessSchema = z.object({
  allow: z.array(z.string()),
  denyAll: z.boolean(),
  readOnly: z.boolean(),
  hostTls: hostTlsModeSchema,
  pskIdentities: z.array(z.string()),
});
export type VolumeAccessRules = z.infer<typeof volumeAccessSchema>;

export const sshAuthSchema = z.discriminatedUnion('kind', [
  z.strictObject({ kind: z.literal('agent') }),
  z.strictObject({
    kind: z.literal('key'),
    identityFile: z.string().min(1, { error: 'must name a key file' }),
    passphrase: z.string().optional(),
  }),
  z.strictObject({
    kind: z.literal('password'),
    password: z.string().min(1, { error: 'must not be empty' }),
  }),
]);
export type SshAuth = z.infer<typeof sshAuthSchema>;

/**
 * `throttleBps`: bytes per second, null for no limit. `busyThrottleBps`: the copy's limit while hosts
 * use the volume (absent: the agent's default, 16 MiB/s; 0: none, full speed even under host I/O).
 */
export const moveStartParamsSchema = z.strictObject({
  volume: nameSchema,
  to: poolRefSchema,
  throttleBps: z.number().positive({ error: 'must be a positive rate' }).nullable().default(null),
  busyThrottleBps: z
    .number()
    .nonnegative({ error: 'must be a rate, or 0 for no cap' })
    .max(Number.MAX_SAFE_INTEGER)
    .optional(),
  verify: z.boolean().default(false),
  keepSource: z.boolean().default(false),
});

export const bridgeMethods = {
  'console.info': method(none, consoleInfoSchema),

  /** The last known inventory, from the store; works with every appliance offline. */
  'inventory.get': method(none, inventorySchema),
  /** Asks the agents again (all, or one appliance); changes arrive as 'inventory.changed' too. */
  'inventory.refresh': method(z.strictObject({ appliance: nameSchema.optional() }), inventorySchema),

  /** Connects once to read the host key, so the admin can compare it before accepting it. */
  'appliance.scanHostKey': method(
    z.strictObject({ host: hostSchema, port: portSchema.default(22) }),
    hostKeySchema,
  ),
  /** Refused with ERR_HOST_KEY (details.fingerprint) until `acceptHostKey` equals the key's fingerprint. */
  'appliance.add': method(
    z.strictObject({
      name: nameSchema,
      host: hostSchema,
      port: portSchema.default(22),
      user: z.string().min(1, { error: 'must not be empty' }).default('root'),
      auth: sshAuthSchema,
      acceptHostKey: fingerprintSchema.optional(),
      agentDir: z.string().startsWith('/', { error: 'must be an absolute path' }).optional(),
      nbdListen: z
        .string()
        .regex(/^[^\s:]+:\d+$/, { error: 'must be ADDRESS:PORT' })
        .optional(),
    }),
    applianceSchema,
  ),
  'appliance.remove': method(applianceName, ok),
  'appliance.check': method(
    applianceName,
    z.object({
      reachable: z.boolean(),
      agentVersion: z.string().nullable(),
      latencyMs: z.number().nullable(),
      message: z.string(),
    }),
  ),

  'pool.add': method(
    z.strictObject({
      appliance: nameSchema,
      name: nameSchema,
      dir: z.string().startsWith('/', { error: 'must be an absolute path' }).optional(),
      devices: z.array(z.string().startsWith('/', { error: 'must be an absolute path' })).optional(),
      capacity: sizeSchema.optional(),
    }),
    poolSchema,
  ),

  'volume.create': method(
    z.strictObject({ name: nameSchema, size: sizeSchema, on: poolRefSchema }),
    volumeSchema,
  ),
  /** Mapping epochs (oldest first) and the audit log of one volume. */
  'volume.history': method(z.strictObject({ volume: nameSchema }), volumeHistorySchema),
  /** Who may reach a volume, as the agent that serves it has the rules. */
  'volume.access.get': method(z.strictObject({ volume: nameSchema }), volumeAccessSchema),
  /**
   * Changes the rules (fields left out keep their value; `allow` also lifts deny-all; the agent checks
   * each ADDR or CIDR). `disconnected`: clients closed because the new rules refuse them. Audited.
   */
  'volume.access.set': method(
    z.strictObject({
      volume: nameSchema,
      allow: z.array(z.string()).max(256, { error: 'at most 256 entries' }).optional(),
      denyAll: z.boolean().optional(),
      readOnly: z.boolean().optional(),
      hostTls: hostTlsModeSchema.optional(),
    }),
    volumeAccessSchema.extend({ disconnected: z.array(z.string()) }),
  ),

  /** Checks a move without starting it: capacity, reachability, name clash, already moving; estimate. */
  'move.preflight': method(
    z.strictObject({ volume: nameSchema, to: poolRefSchema, thin: z.boolean().default(false) }),
    preflightSchema,
  ),
  'move.start': method(moveStartParamsSchema, moveSchema),
  'move.pause': method(moveId, moveSchema),
  'move.resume': method(moveId, moveSchema),
  'move.abort': method(moveId, moveSchema),
  /** Moves in progress and those ended recently (newest first). */
  'move.list': method(none, z.array(moveSchema)),

  'plan.list': method(none, z.array(planSummarySchema)),
  'plan.create': method(planName, planSchema),
  'plan.show': method(planName, planSchema),
  'plan.addStep': method(
    z.strictObject({
      name: nameSchema,
      volume: nameSchema,
      to: poolRefSchema,
      thin: z.boolean().default(false),
    }),
    planSchema,
  ),
  'plan.removeStep': method(z.strictObject({ name: nameSchema, step: z.string().min(1) }), planSchema),
  'plan.delete': method(planName, ok),
  /** Re-checks against a fresh inventory, then runs; progress arrives as 'plan.progress'. */
  'plan.run': method(
    z.strictObject({ name: nameSchema, concurrency: z.number().int().min(1).max(16).default(1) }),
    planSchema,
  ),
  'plan.export': method(planName, z.object({ json: z.string() })),
  'plan.import': method(z.strictObject({ json: z.string().min(2) }), planSchema),

  'lab.status': method(none, labStatusSchema),
  /** Starts (creating when absent) the local lab and registers its appliances in the store. */
  'lab.up': method(
    z.strictObject({
      appliances: z.number().int().min(1).max(8).default(3),
      poolSize: sizeSchema.optional(),
    }),
    labStatusSchema,
  ),
  'lab.down': method(none, labStatusSchema),

  ...terminalMethods,
} as const;

export type BridgeMethods = typeof bridgeMethods;
export type MethodName = keyof BridgeMethods;
/** What a caller passes (defaults may be left out). */
export type ParamsOf<M extends MethodName> = z.input<BridgeMethods[M]['params']>;
/** What the core receives: validated, with defaults filled in. */
export type ValidParamsOf<M extends MethodName> = z.output<BridgeMethods[M]['params']>;
export type ResultOf<M extends MethodName> = z.output<BridgeMethods[M]['result']>;

export const methodNames = Object.keys(bridgeMethods) as MethodName[];

export function isMethodName(value: unknown): value is MethodName {
  return typeof value === 'string' && Object.hasOwn(bridgeMethods, value);
}
