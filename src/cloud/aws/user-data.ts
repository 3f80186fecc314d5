/**
 * The instance's user data: join the ECS cluster, give the agent its stop timeout, and install
 * a watchdog that ends the instance when it has been idle too long. Nothing secret goes here
 * (user data is readable by anyone with ec2:DescribeInstanceAttribute and from inside the
 * instance by every process that can reach IMDS); the agent's secrets reach it through the task
 * definition's `secrets`, resolved by ECS with the task execution role.
 */
export interface UserDataInput {
  cluster: string;
  /** ECS_CONTAINER_STOP_TIMEOUT: SIGTERM→SIGKILL grace for containers whose task definition sets none. */
  stopTimeoutSeconds: number;
  /** 0 = no watchdog. */
  watchdogIdleMinutes: number;
  /** Hard limit on one boot's running time, builds or not; 0 or absent = none. Needs the watchdog. */
  watchdogMaxHours?: number;
  /**
   * Warm pool: pull this image (the agent's) before the ECS agent starts, so the container
   * instance registers only once the image is cached and a parked instance starts its agent
   * without a pull. Absent: no pull (a work instance's agent pulls it as before).
   */
  prefetchImage?: string;
}

const SAFE = /^[A-Za-z0-9_-]+$/;
/** A Docker image reference (registry[:port]/path[:tag][@digest]); nothing a shell would read. */
const IMAGE = /^[A-Za-z0-9][A-Za-z0-9._/:@-]{0,510}$/;

/**
 * Why the pull is here: the ECS-optimised AMI starts the ECS agent after cloud-init's final
 * stage, which runs this script, so the container instance registers only after the pull — and
 * "registered" is what the daemon waits for before it parks a priming instance. Docker is asked
 * to start without blocking (a unit ordered after cloud-final would otherwise deadlock) and
 * waited for a bounded time; a failed pull (a private registry needing credentials only the ECS
 * agent has) only costs the pull at the agent's first start.
 */
function prefetchLines(image: string): string[] {
  return [
    'systemctl start --no-block docker.service || true',
    'for _ in $(seq 1 60); do docker info >/dev/null 2>&1 && break; sleep 2; done',
    `timeout 900 docker pull '${image}' || logger -t dda-prime "agent image pull failed; the agent pulls it when it starts"`,
  ];
}

/**
 * Why the watchdog exists: if the daemon dies, nobody drains its instances, and an idle agent
 * would be paid for forever. Every minute a systemd timer asks Docker whether any container
 * other than the ECS agent and ECS-managed ones (the CI agent task itself) is running — those
 * are the build containers the agent starts through the Docker socket. If none has run for
 * the idle limit, the instance shuts down, and InstanceInitiatedShutdownBehavior=terminate
 * turns that into a termination. While the daemon lives it drains idle agents long before
 * this fires; keep the limit well above the planner's idle grace.
 *
 * Idle time counts from the latest boot at the earliest: a parked (stopped) instance started
 * again keeps its disk, and with it the time of its last build, possibly days ago; without
 * this it would shut down a minute after every start. A priming instance (launched to be
 * parked) runs no build either; it is covered by the limit being at least the daemon's boot
 * deadline plus 5 minutes, by which time the daemon has parked it or is gone.
 *
 * The hard maximum exists because a hung build container would otherwise keep an orphaned
 * instance busy, and paid for, forever. It counts from the latest boot too: a stopped instance
 * costs no compute, and a parked instance started after days must not end at once.
 */
function watchdogScript(idleMinutes: number, maxHours: number): string {
  const max = Math.floor(maxHours * 3600);
  return [
    '#!/bin/sh',
    '# dda-watchdog: shut down (= terminate) after a period with no build container.',
    'state=/var/lib/dda-watchdog/last-busy',
    'mkdir -p /var/lib/dda-watchdog',
    '[ -e "$state" ] || touch "$state"',
    'up=$(cut -d. -f1 /proc/uptime)',
    'booted=$(( $(date +%s) - up ))',
    '[ "$(stat -c %Y "$state")" -ge "$booted" ] || touch "$state"',
    ...(max > 0
      ? [
          `if [ "$up" -ge ${max} ]; then`,
          `  logger -t dda-watchdog "up \${up}s, past the hard maximum of ${max}s; shutting down"`,
          '  shutdown -h now',
          '  exit 0',
          'fi',
        ]
      : []),
    `limit=${idleMinutes * 60}`,
    `if docker ps --format '{{.Names}}|{{.Label "com.amazonaws.ecs.cluster"}}' 2>/dev/null | awk -F'|' '$1 != "ecs-agent" && $2 == "" {busy=1} END {exit !busy}'; then`,
    '  touch "$state"',
    '  exit 0',
    'fi',
    'idle=$(( $(date +%s) - $(stat -c %Y "$state") ))',
    'if [ "$idle" -ge "$limit" ]; then',
    '  logger -t dda-watchdog "no build container for ${idle}s; shutting down"',
    '  shutdown -h now',
    'fi',
  ].join('\n');
}

export function buildUserData(input: UserDataInput): string {
  if (!SAFE.test(input.cluster)) throw new Error('cluster name must be letters, digits, - and _');
  if (input.prefetchImage !== undefined && !IMAGE.test(input.prefetchImage)) throw new Error(`agent image "${input.prefetchImage.slice(0, 80)}" is not an image reference`);
  const stop = Math.max(0, Math.floor(input.stopTimeoutSeconds));
  const lines = [
    '#!/bin/bash',
    '# Written by drone-dynamic-agents. Contains no secrets by design.',
    'set -eu',
    'mkdir -p /etc/ecs',
    "cat >> /etc/ecs/ecs.config <<'EOF'",
    `ECS_CLUSTER=${input.cluster}`,
    // Container instances carry the EC2 instance's tags (dda:daemon...), so orphans stay attributable.
    'ECS_CONTAINER_INSTANCE_PROPAGATE_TAGS_FROM=ec2_instance',
    ...(stop > 0 ? [`ECS_CONTAINER_STOP_TIMEOUT=${stop}s`] : []),
    // A cached agent image is used as is: what makes a started parked instance quick, and
    // harmless on a fresh one (nothing cached: it pulls).
    'ECS_IMAGE_PULL_BEHAVIOR=prefer-cached',
    'EOF',
    ...(input.prefetchImage !== undefined ? prefetchLines(input.prefetchImage) : []),
  ];
  if (input.watchdogIdleMinutes > 0) {
    lines.push(
      "cat > /usr/local/bin/dda-watchdog <<'EOF'",
      watchdogScript(input.watchdogIdleMinutes, input.watchdogMaxHours ?? 0),
      'EOF',
      'chmod 0755 /usr/local/bin/dda-watchdog',
      "cat > /etc/systemd/system/dda-watchdog.service <<'EOF'",
      '[Unit]',
      'Description=drone-dynamic-agents idle watchdog',
      '[Service]',
      'Type=oneshot',
      'ExecStart=/usr/local/bin/dda-watchdog',
      'EOF',
      "cat > /etc/systemd/system/dda-watchdog.timer <<'EOF'",
      '[Unit]',
      'Description=run dda-watchdog every minute',
      '[Timer]',
      'OnBootSec=1min',
      'OnUnitActiveSec=1min',
      '[Install]',
      'WantedBy=timers.target',
      'EOF',
      'systemctl daemon-reload',
      'systemctl enable --now dda-watchdog.timer',
    );
  }
  return `${lines.join('\n')}\n`;
}
