import { describe, expect, it } from 'vitest';
import { matchPools } from '../../src/planner/match-pools.js';
import type { Stage } from '../../src/ports/queue-source.js';
import { DEFAULT_DEMAND, type Demand, type PoolSpec } from '../../src/domain/pool.js';

const pool = (name: string, demand: Partial<Demand> = {}): PoolSpec => ({ name, demand: { ...DEFAULT_DEMAND, ...demand }, min: 0, max: 16, concurrency: 1, pricePerHour: 0.17 });
const stage = (id: string, demand: Partial<Demand> = {}): Stage => ({
  id,
  status: 'pending',
  demand: { os: 'linux', arch: 'amd64', variant: '', kernel: '', labels: {}, ...demand },
  createdAt: 0,
});

describe('matchPools (Drone exact-match rule)', () => {
  const pools = [pool('default'), pool('arm', { arch: 'arm64' }), pool('gpu', { labels: { gpu: 'yes' } }), pool('gpu2', { labels: { gpu: 'yes' } })];

  it.each([
    ['plain linux/amd64', stage('a'), 'default'],
    ['arm64', stage('b', { arch: 'arm64' }), 'arm'],
    ['labels equal', stage('c', { labels: { gpu: 'yes' } }), 'gpu'],
    ['empty os/arch default to linux/amd64', stage('d', { os: '', arch: '' }), 'default'],
  ])('%s → %s', (_w, s, expected) => {
    const m = matchPools([s], pools);
    expect(m.byPool.get(expected)).toEqual([s]);
    expect(m.unmatched).toEqual([]);
  });

  it.each([
    ['a label value differs', stage('e', { labels: { gpu: 'no' } })],
    ['an extra label (no subset matching)', stage('f', { labels: { gpu: 'yes', ram: 'big' } })],
    ['a variant no pool has', stage('g', { arch: 'arm64', variant: 'v7' })],
    ['a kernel no pool has', stage('h', { kernel: '6.1' })],
    ['another os', stage('i', { os: 'windows' })],
  ])('%s → unmatched', (_w, s) => {
    const m = matchPools([s], pools);
    expect(m.unmatched).toEqual([s]);
    expect([...m.byPool.values()].flat()).toEqual([]);
  });

  it('lists every pool, in order, even without stages; the first of two equal pools wins', () => {
    const s = stage('x', { labels: { gpu: 'yes' } });
    const m = matchPools([s, stage('y')], pools);
    expect([...m.byPool.keys()]).toEqual(['default', 'arm', 'gpu', 'gpu2']);
    expect(m.byPool.get('gpu')).toEqual([s]);
    expect(m.byPool.get('gpu2')).toEqual([]);
    expect(m.byPool.get('arm')).toEqual([]);
  });

  it('is stable under label order', () => {
    const p = pool('multi', { labels: { b: '2', a: '1' } });
    const s = stage('z', { labels: { a: '1', b: '2' } });
    expect(matchPools([s], [p]).byPool.get('multi')).toEqual([s]);
  });
});
