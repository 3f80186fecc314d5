// Moved to src/planner/match-pools.ts (a planner rule, not a CI-server concern). Kept only for
// src/sources/index.ts, which is being deleted; delete this file with it.
export { matchPools, type PoolMatch } from '../planner/match-pools.js';
