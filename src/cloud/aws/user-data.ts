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
}

const SAFE = /^[A-Za-z0-9_-]+$/;

/**
 * Why the watchdog exists: if the daemon dies, nobody drains its instances, and an idle agent
 * would be paid for forever. Every minute a systemd timer asks Docker whether any container
 * other than the ECS agent and ECS-managed ones (the CI agent task itself) is running — those
 * are the build containers the agent starts through the Docker socket. If none has run for
 * the idle limit, the instance shuts down, and InstanceInitiatedShutdownBehavior=terminate
 * turns that into a termination. While the daemon lives it drains idle agents long before
 * this fires; keep the limit well above the planner's idle grace.
 */
function watchdogScript(idleMinutes: number): string {
  return [
    '#!/bin/sh',
    '# dda-watchdog: shut down (= terminate) after a period with no build container.',
    'state=/var/lib/dda-watchdog/last-busy',
    'mkdir -p /var/lib/dda-watchdog',
    '[ -e "$state" ] || touch "$state"',
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
    'EOF',
  ];
  if (input.watchdogIdleMinutes > 0) {
    lines.push(
      "cat > /usr/local/bin/dda-watchdog <<'EOF'",
      watchdogScript(input.watchdogIdleMinutes),
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
