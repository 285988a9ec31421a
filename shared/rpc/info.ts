// Control RPC: what this agent is and what it serves.

import { z } from 'zod';
import { emptyParamsSchema } from './common.js';
import { defineMethod } from './jsonrpc.js';
import { poolInfoSchema } from './pools.js';
import { volumeInfoSchema } from './volumes.js';

export const agentInfo = defineMethod(
  'info',
  emptyParamsSchema,
  z.object({
    version: z.string(),
    pid: z.number().int(),
    startedAt: z.string(),
    stateDir: z.string(),
    control: z.string(),
    nbd: z.object({ host: z.string(), port: z.number().int() }),
    pools: z.array(poolInfoSchema),
    volumes: z.array(volumeInfoSchema),
  }),
);
