// The shape of a reason Ferry refuses a device for a pool, shared by the inspector and its helpers.

export type DeviceProblemCode =
  | 'root-disk'
  | 'mounted'
  | 'swap-active'
  | 'md-member'
  | 'dm-holder'
  | 'loop-backing'
  | 'in-other-pool'
  | 'busy'
  | 'unreadable'
  | 'partitions'
  | 'partition-table'
  | 'filesystem'
  | 'signature';

export interface DeviceProblem {
  code: DeviceProblemCode;
  /** One sentence naming the device and the reason. */
  message: string;
  /** What `pool add --force` would destroy because of this problem, for describeLoss(). */
  loss: string;
}
