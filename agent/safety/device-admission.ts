// The gate of `pool add --device`: inspects every device named, refuses with ERR_UNSAFE_DEVICE
// listing every problem of every device, or with --force takes them and returns (and logs, for the
// audit) exactly what that destroys.

import { FerryError } from '../../shared/errors.js';
import type { Logger } from '../log.js';
import { type DeviceInspection, describeLoss, inspectDevice } from './device-inspector.js';

export interface ForcedDevice {
  device: string;
  /** The problems --force overrode, one sentence each. */
  problems: string[];
  /** describeLoss() of those problems. */
  loss: string;
}

export interface AdmitOptions {
  /** The pool being added, for messages and the audit line. */
  pool: string;
  force?: boolean;
  /** Devices of the agent's other pools. */
  otherPoolDevices?: Array<{ device: string; pool: string }>;
  log?: Logger;
}

/** Resolves with the devices --force took (empty when all were clean); throws when any is unsafe without it. */
export async function admitDevices(devices: readonly string[], opts: AdmitOptions): Promise<ForcedDevice[]> {
  const inspections: Array<{ given: string; result: DeviceInspection }> = [];
  for (const device of devices) {
    inspections.push({
      given: device,
      result: await inspectDevice(device, { otherPoolDevices: opts.otherPoolDevices }),
    });
  }
  const unsafe = inspections.filter((i) => i.result.problems.length > 0);
  if (unsafe.length === 0) return [];
  if (!opts.force) {
    const lines = unsafe.flatMap((i) => i.result.problems.map((p) => `  - ${p.message}`));
    const losses = unsafe.map((i) => describeLoss(i.result.problems)).join('\n');
    throw new FerryError(
      'ERR_UNSAFE_DEVICE',
      `pool ${opts.pool}: refusing ${unsafe.map((i) => i.given).join(', ')}:\n${lines.join('\n')}\n` +
        `Only if you are sure, pool add --force takes ${unsafe.length === 1 ? 'it' : 'them'}; ${losses}`,
      {
        pool: opts.pool,
        problems: unsafe.flatMap((i) =>
          i.result.problems.map((p) => ({ device: i.result.device, code: p.code, message: p.message })),
        ),
      },
    );
  }
  return unsafe.map((i) => {
    const forced: ForcedDevice = {
      device: i.result.device,
      problems: i.result.problems.map((p) => p.message),
      loss: describeLoss(i.result.problems),
    };
    opts.log?.warn(
      `audit: pool add ${opts.pool} --force took ${forced.device} despite: ${forced.problems.join('; ')} ` +
        `(evidence: ${i.result.evidence.join(', ')})`,
    );
    return forced;
  });
}
