import type { Tag } from '@aws-sdk/client-ec2';

/**
 * Tag keys on everything the daemon creates. `dda:daemon` is the fence between daemons: every
 * describe filters on it and every mutating call checks it first. The rest is what a restarted
 * daemon needs to adopt an instance in the state it finds it.
 */
export const TAG = {
  daemon: 'dda:daemon',
  pool: 'dda:pool',
  key: 'dda:key',
  launchedAt: 'dda:launched-at',
  billingStart: 'dda:billing-start',
  market: 'dda:market',
  /** `park`: launched to prime a warm-pool member; removed when it is first parked. Absent on a work launch. */
  purpose: 'dda:purpose',
  /** ms epoch when the daemon parked (stopped) it; removed when it is started again. */
  parkedAt: 'dda:parked-at',
  /** `persistent`: a warm spot instance; its spot request is cancelled before it is terminated, or EC2 relaunches it. */
  spotRequest: 'dda:spot-request',
} as const;

export function tagValue(tags: readonly Tag[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.Key === key)?.Value;
}

/** ECS spells tags in lower case. */
export function ecsTagValue(tags: readonly { key?: string; value?: string }[] | undefined, key: string): string | undefined {
  return tags?.find((t) => t.key === key)?.value;
}
