/** The CI queue sources as one unit: build one from configuration, group its stages by pool. */
export { createQueueSource, agentSpecFor, loadCiConfig, type CiConfig, type QueueSourceDeps } from '../config/ci-env.js';
export { matchPools, type PoolMatch } from './match-pools.js';
export { createDroneSource, type DroneSourceOptions } from './drone/drone-source.js';
export { createWoodpeckerSource, type WoodpeckerSourceOptions } from './woodpecker/woodpecker-source.js';
export { createGocdSource, type GocdSourceOptions } from './gocd/gocd-source.js';
