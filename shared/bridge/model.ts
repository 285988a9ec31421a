// The console's domain as the renderer sees it: appliances, pools, volumes, moves, plans, history and
// the local lab. These are views the core builds from its store and the agents; the renderer only reads
// them. Every entity says when it was last seen, so an offline inventory can say how old it is.

import { z } from 'zod';
import {
  bytesSchema,
  epochSchema,
  errorInfoSchema,
  estimateSchema,
  fingerprintSchema,
  hostSchema,
  nameSchema,
  poolRefSchema,
  portSchema,
  rateSchema,
  timeSchema,
} from './fields.js';

export const applianceStatusSchema = z.enum(['online', 'offline', 'connecting', 'error']);
export type ApplianceStatus = z.infer<typeof applianceStatusSchema>;

export const applianceSchema = z.object({
  name: nameSchema,
  host: hostSchema,
  port: portSchema,
  user: z.string(),
  status: applianceStatusSchema,
  /** Why it is offline or in error, in plain words ("connection refused by 10.0.0.5:22"). */
  message: z.string().nullable(),
  lastSeen: timeSchema.nullable(),
  agentVersion: z.string().nullable(),
  latencyMs: z.number().nonnegative().nullable(),
  /** Pinned host key, as accepted when the appliance was added. */
  hostKey: fingerprintSchema.nullable(),
  /** True for the appliances of the local lab (`ferry lab up`). */
  lab: z.boolean(),
});
export type Appliance = z.infer<typeof applianceSchema>;

export const poolSchema = z.object({
  appliance: nameSchema,
  name: nameSchema,
  kind: z.enum(['dir', 'device']),
  capacity: bytesSchema,
  used: bytesSchema,
  /** Space promised to moves in progress and to saved plans, not yet used. */
  reserved: bytesSchema,
  lastSeen: timeSchema.nullable(),
});
export type Pool = z.infer<typeof poolSchema>;

export const volumeStateSchema = z.enum(['ready', 'moving', 'degraded', 'unavailable']);
export type VolumeState = z.infer<typeof volumeStateSchema>;

export const volumeSchema = z.object({
  name: nameSchema,
  uuid: z.string(),
  size: bytesSchema,
  /** Bytes actually allocated in the LV (thin volumes); null when the pool cannot say. */
  allocated: bytesSchema.nullable(),
  appliance: nameSchema,
  pool: nameSchema,
  lv: z.string(),
  epoch: epochSchema,
  state: volumeStateSchema,
  /** The move in progress for this volume, if any. */
  moveId: z.string().nullable(),
  lastSeen: timeSchema.nullable(),
});
export type Volume = z.infer<typeof volumeSchema>;

export const inventorySchema = z.object({
  appliances: z.array(applianceSchema),
  pools: z.array(poolSchema),
  volumes: z.array(volumeSchema),
  /** When the oldest part of this inventory was last confirmed by an agent; null when never. */
  asOf: timeSchema.nullable(),
});
export type Inventory = z.infer<typeof inventorySchema>;

/** Phases in the order a move goes through them; 'degraded' is entered when the target is lost. */
export const movePhaseSchema = z.enum([
  'preparing',
  'copying',
  'degraded',
  'verifying',
  'cutover',
  'done',
  'failed',
  'aborted',
]);
export type MovePhase = z.infer<typeof movePhaseSchema>;

export const moveOptionsSchema = z.object({
  /** Bytes per second; null: no limit. */
  throttleBps: rateSchema.nullable(),
  verify: z.boolean(),
  keepSource: z.boolean(),
});
export type MoveOptions = z.infer<typeof moveOptionsSchema>;

export const moveSchema = z.object({
  id: z.string().min(1),
  volume: nameSchema,
  from: poolRefSchema,
  to: poolRefSchema,
  phase: movePhaseSchema,
  paused: z.boolean(),
  /** The copy yields to hosts doing I/O on the volume right now (runs at its busy-hosts cap). */
  hostsFirst: z.boolean(),
  /** 0..100, of the copy (then of the verification when verifying). */
  percent: z.number().min(0).max(100),
  bytesDone: bytesSchema,
  bytesTotal: bytesSchema,
  /** Current copy rate, bytes per second. */
  rateBps: rateSchema,
  etaSeconds: z.number().nonnegative().nullable(),
  /** Host writes mirrored to source and target so far. */
  mirroredWrites: z.number().int().nonnegative(),
  /** How long host I/O was held at cutover, once known. */
  cutoverPauseMs: z.number().nonnegative().nullable(),
  options: moveOptionsSchema,
  startedAt: timeSchema,
  endedAt: timeSchema.nullable(),
  error: errorInfoSchema.nullable(),
});
export type Move = z.infer<typeof moveSchema>;

export const preflightCheckSchema = z.object({
  /** Stable id of the check: 'reachable', 'space', 'name', 'busy', ... */
  id: z.string(),
  ok: z.boolean(),
  /** What was checked and, when it failed, what to do. */
  message: z.string(),
});

export const preflightSchema = z.object({
  ok: z.boolean(),
  checks: z.array(preflightCheckSchema),
  estimate: estimateSchema,
  /** Bytes that will be reserved on the target (full size, or allocated bytes for thin). */
  reserveBytes: bytesSchema,
  targetFreeBefore: z.number().int(),
  targetFreeAfter: z.number().int(),
});
export type Preflight = z.infer<typeof preflightSchema>;

export const planStepStateSchema = z.enum(['pending', 'running', 'done', 'failed', 'skipped']);
export type PlanStepState = z.infer<typeof planStepStateSchema>;

export const poolUsageSchema = z.object({
  appliance: nameSchema,
  pool: nameSchema,
  capacity: bytesSchema,
  usedBefore: bytesSchema,
  usedAfter: bytesSchema,
});
export type PoolUsage = z.infer<typeof poolUsageSchema>;

export const planStepSchema = z.object({
  id: z.string().min(1),
  /** 1-based position in the order the planner will run the steps. */
  order: z.number().int().positive(),
  volume: nameSchema,
  from: poolRefSchema,
  to: poolRefSchema,
  thin: z.boolean(),
  sizeBytes: bytesSchema,
  allocatedBytes: bytesSchema.nullable(),
  reserveBytes: bytesSchema,
  estimate: estimateSchema,
  /** True when the planner added this hop to stage a volume through a pool with room. */
  staging: z.boolean(),
  feasible: z.boolean(),
  /** Why it cannot run ("pool b/fast lacks 2.0G"), when not feasible. */
  reason: z.string().nullable(),
  /** Used space of the pools this step touches, before and after it. */
  capacity: z.array(poolUsageSchema),
  state: planStepStateSchema,
  moveId: z.string().nullable(),
  error: errorInfoSchema.nullable(),
});
export type PlanStep = z.infer<typeof planStepSchema>;

export const planSummarySchema = z.object({
  name: nameSchema,
  steps: z.number().int().nonnegative(),
  updatedAt: timeSchema,
  lastRun: z.object({ state: z.string(), at: timeSchema }).nullable(),
});
export type PlanSummary = z.infer<typeof planSummarySchema>;

export const planSchema = z.object({
  name: nameSchema,
  feasible: z.boolean(),
  steps: z.array(planStepSchema),
  /** Every pool the plan touches: used space before the first step and after the last. */
  pools: z.array(poolUsageSchema),
  estimate: estimateSchema,
  warnings: z.array(z.string()),
  /** Staging the planner proposes when no direct order fits, in words. */
  staging: z.array(z.object({ volume: nameSchema, via: poolRefSchema, reason: z.string() })),
  /** Age of the inventory the plan was computed from; null when never seen. */
  inventoryAsOf: timeSchema.nullable(),
  running: z.boolean(),
});
export type Plan = z.infer<typeof planSchema>;

export const epochEntrySchema = z.object({
  epoch: epochSchema,
  appliance: nameSchema,
  pool: nameSchema,
  lv: z.string(),
  at: timeSchema,
  /** What changed the mapping: 'created', 'move <id>', 'reconciled from agent', ... */
  reason: z.string(),
});

export const auditEntrySchema = z.object({
  at: timeSchema,
  actor: z.string(),
  action: z.string(),
  detail: z.string(),
});

export const volumeHistorySchema = z.object({
  volume: nameSchema,
  epochs: z.array(epochEntrySchema),
  audit: z.array(auditEntrySchema),
});
export type VolumeHistory = z.infer<typeof volumeHistorySchema>;

export const labStatusSchema = z.object({
  state: z.enum(['absent', 'down', 'starting', 'up', 'stopping']),
  appliances: z.array(nameSchema),
  dir: z.string().nullable(),
});
export type LabStatus = z.infer<typeof labStatusSchema>;

export const hostKeySchema = z.object({
  host: hostSchema,
  port: portSchema,
  keyType: z.string(),
  fingerprint: fingerprintSchema,
  /** The appliance that already pinned this key, if any. */
  knownAs: nameSchema.nullable(),
});
export type HostKey = z.infer<typeof hostKeySchema>;

export const consoleInfoSchema = z.object({
  version: z.string(),
  storePath: z.string(),
});
export type ConsoleInfo = z.infer<typeof consoleInfoSchema>;
