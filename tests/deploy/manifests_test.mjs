// What the rendered Kubernetes manifests must say, beyond schema validity:
// probes, Pod Security "restricted", secrets as files, the PVC, the PDB, the
// NetworkPolicy, and that the pieces refer to each other correctly.
//
//   node manifests_test.mjs <base.yaml> <overlay.yaml> [with-example-secrets.yaml]
//
// (the files are `kubectl kustomize` output of deploy/k8s/base, of
// deploy/k8s/overlays/envoy-sidecar, and of the base with the
// components/example-secrets component).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { durationSeconds, loadObjects, objectId, selects } from "./k8s_yaml.mjs";

const [baseFile, overlayFile, secretsFile] = process.argv.slice(2);
if (!baseFile || !overlayFile) {
  console.error("usage: node manifests_test.mjs <base.yaml> <overlay.yaml> [secrets.yaml]");
  process.exit(2);
}
const base = loadObjects(baseFile);
const overlay = loadObjects(overlayFile);

const find = (objects, kind, name) =>
  objects.find((o) => o.kind === kind && (name === undefined || o.metadata?.name === name));
const all = (objects, kind) => objects.filter((o) => o.kind === kind);

const sts = find(base, "StatefulSet", "keygate");
const pod = sts?.spec?.template;
const podSpec = pod?.spec;
const container = podSpec?.containers?.find((c) => c.name === "keygate");
const configMap = (() => {
  const ref = container?.envFrom?.find((e) => e.configMapRef)?.configMapRef?.name;
  return find(base, "ConfigMap", ref);
})();
const env = configMap?.data ?? {};
const serviceSelects = (svc, labels) =>
  Boolean(svc.spec.selector) && selects({ matchLabels: svc.spec.selector }, labels);
const portOf = (address) => Number(String(address).split(":").pop());
const mountAt = (path) => container?.volumeMounts?.find((m) => m.mountPath === path);
const volume = (name) => podSpec?.volumes?.find((v) => v.name === name);

// Pod Security Standards, "restricted" profile (what both namespaces enforce).
function assertRestricted(spec, where) {
  const podSc = spec.securityContext ?? {};
  for (const field of ["hostNetwork", "hostPID", "hostIPC"]) {
    assert.notEqual(spec[field], true, `${where}: ${field}`);
  }
  const allowedVolumes = ["configMap", "csi", "downwardAPI", "emptyDir", "ephemeral",
    "persistentVolumeClaim", "projected", "secret"];
  for (const v of spec.volumes ?? []) {
    const type = Object.keys(v).find((k) => k !== "name");
    assert.ok(allowedVolumes.includes(type), `${where}: volume ${v.name} is of type ${type}`);
  }
  for (const c of [...(spec.initContainers ?? []), ...spec.containers]) {
    const sc = c.securityContext ?? {};
    const at = `${where} container ${c.name}`;
    assert.notEqual(sc.privileged, true, `${at}: privileged`);
    assert.equal(sc.allowPrivilegeEscalation, false, `${at}: allowPrivilegeEscalation must be false`);
    assert.ok(sc.capabilities?.drop?.includes("ALL"), `${at}: capabilities must drop ALL`);
    for (const cap of sc.capabilities?.add ?? []) {
      assert.equal(cap, "NET_BIND_SERVICE", `${at}: adds capability ${cap}`);
    }
    assert.equal(sc.runAsNonRoot ?? podSc.runAsNonRoot, true, `${at}: runAsNonRoot`);
    assert.notEqual(sc.runAsUser ?? podSc.runAsUser, 0, `${at}: runAsUser 0`);
    const seccomp = (sc.seccompProfile ?? podSc.seccompProfile)?.type;
    assert.ok(["RuntimeDefault", "Localhost"].includes(seccomp), `${at}: seccompProfile is ${seccomp}`);
    for (const p of c.ports ?? []) assert.equal(p.hostPort ?? 0, 0, `${at}: hostPort`);
  }
}

describe("keygate StatefulSet", () => {
  test("exists, one replica, governed by a headless Service", () => {
    assert.ok(sts, "no StatefulSet keygate in the base");
    assert.equal(sts.spec.replicas, 1, "single writer: exactly 1 replica");
    const headless = find(base, "Service", sts.spec.serviceName);
    assert.ok(headless, `serviceName ${sts.spec.serviceName} is not a Service of the base`);
    assert.equal(headless.spec.clusterIP, "None", "the governing Service must be headless");
    assert.ok(serviceSelects(headless, pod.metadata.labels), "the headless Service does not select the pod");
    assert.ok(selects(sts.spec.selector, pod.metadata.labels), "the selector does not match the pod");
  });

  test("the store is on a PersistentVolumeClaim mounted at /var/lib/keygate", () => {
    const mount = mountAt("/var/lib/keygate");
    assert.ok(mount, "nothing mounted at /var/lib/keygate");
    const claim = sts.spec.volumeClaimTemplates?.find((t) => t.metadata.name === mount.name);
    assert.ok(claim, `volume ${mount.name} is not a volumeClaimTemplate`);
    assert.ok(claim.spec.accessModes.includes("ReadWriteOnce"));
    assert.match(String(claim.spec.resources?.requests?.storage), /^\d+(Mi|Gi|Ti)$/);
    assert.equal(env.KEYGATE_DATA_DIR, "/var/lib/keygate", "KEYGATE_DATA_DIR is not the PVC mount");
  });

  test("native gRPC startup, liveness and readiness probes", () => {
    assert.deepEqual(container.livenessProbe?.grpc, { port: 50051, service: "liveness" });
    assert.deepEqual(container.readinessProbe?.grpc, { port: 50051, service: "readiness" });
    assert.ok(container.startupProbe, "no startupProbe");
    assert.equal(container.startupProbe.grpc?.port, 50051, "startupProbe is not a gRPC probe on 50051");
    const startupBudget = container.startupProbe.periodSeconds * container.startupProbe.failureThreshold;
    assert.ok(startupBudget >= 30, `startupProbe allows only ${startupBudget}s to open the store`);
  });

  test("configuration from a ConfigMap via envFrom", () => {
    assert.ok(configMap, "envFrom does not name a ConfigMap of the base");
    for (const key of ["KEYGATE_LISTEN", "KEYGATE_DATA_DIR", "KEYGATE_KEY_PREFIX", "KEYGATE_LOG_LEVEL",
      "KEYGATE_METRICS_LISTEN", "KEYGATE_SHUTDOWN_DELAY", "KEYGATE_SHUTDOWN_GRACE"]) {
      assert.ok(key in env, `ConfigMap ${configMap.metadata.name} has no ${key}`);
    }
    assert.equal(env.KEYGATE_SHUTDOWN_DELAY, "5s");
    assert.equal(env.KEYGATE_SHUTDOWN_GRACE, "10s");
    const ports = Object.fromEntries(container.ports.map((p) => [p.name, p.containerPort]));
    assert.equal(ports.grpc, 50051);
    assert.equal(ports.metrics, 9090);
    assert.equal(portOf(env.KEYGATE_LISTEN), ports.grpc, "KEYGATE_LISTEN is not the grpc port");
    assert.equal(portOf(env.KEYGATE_METRICS_LISTEN), ports.metrics, "KEYGATE_METRICS_LISTEN is not the metrics port");
    assert.match(env.KEYGATE_LISTEN, /^0\.0\.0\.0:/, "must listen on all interfaces in a pod");
    // The command line would win over the ConfigMap's variables.
    for (const arg of [...(container.command ?? []), ...(container.args ?? [])]) {
      assert.doesNotMatch(arg, /^--(listen|data_dir|metrics_listen|key_prefix|log_level|shutdown_)/,
        `argument ${arg} overrides the ConfigMap`);
    }
    // Service links would add KEYGATE_SERVICE_HOST, KEYGATE_PORT_... variables.
    assert.equal(podSpec.enableServiceLinks, false, "enableServiceLinks must be false");
  });

  test("terminationGracePeriodSeconds > shutdown delay + grace", () => {
    const needed = durationSeconds(env.KEYGATE_SHUTDOWN_DELAY) + durationSeconds(env.KEYGATE_SHUTDOWN_GRACE);
    assert.ok(podSpec.terminationGracePeriodSeconds > needed,
      `terminationGracePeriodSeconds ${podSpec.terminationGracePeriodSeconds} <= ${needed}`);
  });

  test("pepper and operator key are Secret files, never environment variables", () => {
    const files = {
      "--pepper_file": { path: "/etc/keygate/pepper/pepper", secret: "keygate-pepper" },
      "--bootstrap_key_file": { path: "/etc/keygate/operator/operator.key", secret: "keygate-operator-key" },
    };
    for (const [flag, { path, secret }] of Object.entries(files)) {
      assert.ok(container.args?.includes(`${flag}=${path}`), `args lack ${flag}=${path}`);
      const dir = path.slice(0, path.lastIndexOf("/"));
      const file = path.slice(dir.length + 1);
      const mount = mountAt(dir);
      assert.ok(mount, `nothing mounted at ${dir}`);
      assert.equal(mount.readOnly, true, `${dir} must be mounted read-only`);
      const source = volume(mount.name)?.secret;
      assert.equal(source?.secretName, secret, `${dir} is not the Secret ${secret}`);
      if (source.items) {
        assert.ok(source.items.some((i) => i.path === file), `Secret ${secret} has no item ${file}`);
      }
      // fsGroup 10001 reads the files through the group bits.
      const mode = source.defaultMode ?? 0o644;
      assert.ok((mode & 0o040) !== 0 && (mode & 0o007) === 0, `mode ${mode.toString(8)} of ${secret}`);
    }
    for (const c of podSpec.containers) {
      assert.ok(!(c.env ?? []).some((e) => e.valueFrom?.secretKeyRef), `${c.name}: secret in env`);
      assert.ok(!(c.envFrom ?? []).some((e) => e.secretRef), `${c.name}: envFrom a Secret`);
    }
    assert.equal(all(base, "Secret").length, 0, "the base must not carry Secrets");
  });

  test("securityContext passes Pod Security restricted, read-only root, UID/fsGroup 10001", () => {
    assertRestricted(podSpec, "keygate");
    const podSc = podSpec.securityContext;
    const sc = container.securityContext;
    assert.equal(sc.runAsUser ?? podSc.runAsUser, 10001);
    assert.equal(podSc.fsGroup, 10001);
    assert.equal(podSc.runAsNonRoot, true);
    assert.equal(podSc.seccompProfile?.type, "RuntimeDefault");
    assert.equal(sc.readOnlyRootFilesystem, true, "readOnlyRootFilesystem");
    const tmp = mountAt("/tmp");
    assert.ok(tmp && volume(tmp.name)?.emptyDir, "/tmp must be an emptyDir with a read-only root");
    assert.equal(podSpec.automountServiceAccountToken, false);
    const ns = find(base, "Namespace", sts.metadata.namespace);
    assert.equal(ns?.metadata.labels?.["pod-security.kubernetes.io/enforce"], "restricted");
  });

  test("resource requests and limits", () => {
    for (const kind of ["requests", "limits"]) {
      for (const r of ["cpu", "memory"]) {
        assert.ok(container.resources?.[kind]?.[r], `no ${kind}.${r}`);
      }
    }
  });
});

describe("keygate Service, PDB, NetworkPolicy, labels", () => {
  test("Service: gRPC 50051 named grpc with appProtocol grpc, metrics 9090", () => {
    const svc = find(base, "Service", "keygate");
    assert.ok(svc, "no Service keygate");
    assert.notEqual(svc.spec.clusterIP, "None");
    assert.ok(serviceSelects(svc, pod.metadata.labels), "does not select the pod");
    const grpc = svc.spec.ports.find((p) => p.name === "grpc");
    assert.equal(grpc?.port, 50051);
    assert.equal(grpc?.appProtocol, "grpc");
    assert.ok(svc.spec.ports.some((p) => p.port === 9090), "no metrics port 9090");
    for (const p of svc.spec.ports) {
      const target = typeof p.targetPort === "string"
        ? container.ports.find((c) => c.name === p.targetPort)?.containerPort : p.targetPort ?? p.port;
      assert.ok(container.ports.some((c) => c.containerPort === target), `port ${p.name} targets nothing`);
    }
  });

  test("PodDisruptionBudget selects the pod", () => {
    const pdb = all(base, "PodDisruptionBudget").find((p) => selects(p.spec.selector, pod.metadata.labels));
    assert.ok(pdb, "no PodDisruptionBudget selects the keygate pod");
    assert.ok(pdb.spec.minAvailable !== undefined || pdb.spec.maxUnavailable !== undefined);
  });

  test("NetworkPolicy: gRPC only from keygate.io/client pods, metrics only from Prometheus", () => {
    const np = all(base, "NetworkPolicy").find((p) => selects(p.spec.podSelector, pod.metadata.labels));
    assert.ok(np, "no NetworkPolicy selects the keygate pod");
    assert.ok(np.spec.policyTypes.includes("Ingress"));
    const rules = np.spec.ingress ?? [];
    for (const rule of rules) {
      assert.ok(rule.ports?.length > 0, "a rule without ports opens every port");
      assert.ok(rule.from?.length > 0, "a rule without from admits every source");
    }
    const rulesFor = (port) => rules.filter((r) => r.ports.some((p) => p.port === port || p.port === undefined));
    const peers = (port) => rulesFor(port).flatMap((r) => r.from);
    assert.deepEqual(peers(50051), [{ namespaceSelector: {}, podSelector: { matchLabels: { "keygate.io/client": "true" } } }]);
    const metrics = peers(9090);
    assert.equal(metrics.length, 1, "metrics must be admitted from Prometheus only");
    assert.equal(metrics[0].podSelector?.matchLabels?.["app.kubernetes.io/name"], "prometheus");
    for (const port of [50051, 9090]) {
      for (const r of rulesFor(port)) assert.ok(r.ports.every((p) => (p.protocol ?? "TCP") === "TCP"));
    }
  });

  test("every base object carries app.kubernetes.io/name: keygate", () => {
    for (const o of base) {
      assert.equal(o.metadata.labels?.["app.kubernetes.io/name"], "keygate", objectId(o));
    }
    assert.equal(pod.metadata.labels["app.kubernetes.io/name"], "keygate");
  });
});

describe("envoy-sidecar overlay", () => {
  const app = find(overlay, "Deployment", "flowstack-api");

  test("includes the whole base unchanged", () => {
    for (const o of base) {
      const same = overlay.find((x) => objectId(x) === objectId(o));
      assert.ok(same, `${objectId(o)} missing from the overlay`);
      assert.deepEqual(same, o, `${objectId(o)} differs in the overlay`);
    }
  });

  test("flowstack-api is a Keygate client admitted by the NetworkPolicy", () => {
    assert.ok(app, "no Deployment flowstack-api");
    const labels = app.spec.template.metadata.labels;
    assert.equal(labels["keygate.io/client"], "true");
    const np = find(overlay, "NetworkPolicy", "keygate");
    const grpcPeers = np.spec.ingress.filter((r) => r.ports.some((p) => p.port === 50051)).flatMap((r) => r.from);
    assert.ok(grpcPeers.some((peer) => selects(peer.podSelector, labels)), "the NetworkPolicy does not admit it");
  });

  test("Envoy sidecar: pinned image, config from the ConfigMap", () => {
    const envoy = app.spec.template.spec.containers.find((c) => c.image?.startsWith("envoyproxy/envoy"));
    assert.ok(envoy, "no envoyproxy/envoy container");
    assert.match(envoy.image, /^envoyproxy\/envoy:v\d+\.\d+\.\d+$/, "pin the Envoy image to a release");
    const args = [...(envoy.command ?? []), ...(envoy.args ?? [])];
    const i = args.findIndex((a) => a === "--config-path" || a === "-c");
    assert.ok(i >= 0, "Envoy gets no --config-path");
    const path = args[i + 1];
    const mount = envoy.volumeMounts.find((m) => path.startsWith(`${m.mountPath}/`));
    const cmName = app.spec.template.spec.volumes.find((v) => v.name === mount?.name)?.configMap?.name;
    const cm = find(overlay, "ConfigMap", cmName);
    assert.ok(cm && cm.metadata.namespace === app.metadata.namespace, `config ${path} is not from a ConfigMap`);
    assert.ok(path.slice(mount.mountPath.length + 1) in cm.data, `ConfigMap ${cmName} has no ${path}`);
  });

  test("the application's Service reaches Envoy, not the app directly", () => {
    const svc = find(overlay, "Service", "flowstack-api");
    assert.ok(svc && serviceSelects(svc, app.spec.template.metadata.labels), "does not select the app");
    const envoy = app.spec.template.spec.containers.find((c) => c.image?.startsWith("envoyproxy/envoy"));
    for (const p of svc.spec.ports) {
      const target = typeof p.targetPort === "string"
        ? envoy.ports?.find((c) => c.name === p.targetPort)?.containerPort : p.targetPort;
      assert.ok(envoy.ports?.some((c) => c.containerPort === target), `Service port ${p.name} is not Envoy's`);
    }
  });

  test("every pod of the overlay passes Pod Security restricted", () => {
    for (const o of overlay.filter((x) => x.spec?.template?.spec)) {
      assertRestricted(o.spec.template.spec, objectId(o));
    }
  });
});

describe("example-secrets component", { skip: !secretsFile && "not rendered" }, () => {
  test("provides the Secrets the StatefulSet mounts, with placeholders only", () => {
    const objects = loadObjects(secretsFile);
    for (const v of podSpec.volumes.filter((x) => x.secret)) {
      const secret = find(objects, "Secret", v.secret.secretName);
      assert.ok(secret, `no Secret ${v.secret.secretName}`);
      assert.equal(secret.metadata.namespace, sts.metadata.namespace);
      const values = { ...(secret.stringData ?? {}), ...(secret.data ?? {}) };
      for (const item of v.secret.items ?? []) assert.ok(item.key in values, `no key ${item.key}`);
      for (const value of Object.values(values)) {
        assert.match(value, /REPLACE_ME/, "a committed Secret must hold a placeholder");
        // keygate-server refuses a pepper shorter than 32 bytes: a
        // placeholder can never become the production pepper.
        assert.ok(value.length < 32, "placeholder long enough to be accepted as a pepper");
      }
    }
  });
});
