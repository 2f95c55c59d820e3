// Checks the Envoy configuration of the envoy-sidecar overlay, as Envoy will
// read it: from the ConfigMap that the sidecar mounts in the rendered overlay.
//
//   node envoy_config_test.mjs <base.yaml> <overlay.yaml>
//
// - the ext_authz filter calls cluster `keygate` over gRPC, API V3, and fails
//   closed; it runs before the router;
// - the `keygate` cluster speaks HTTP/2 and points at Keygate's Service
//   (name, namespace and gRPC port as rendered from deploy/k8s/base);
// - every route under /api sets a `required_scope` that parses by Keygate's
//   scope grammar, only exact paths (like /healthz) skip authorization, and
//   a few requests land on the scope they need (a small route matcher).
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { loadObjects, parseYaml } from "./k8s_yaml.mjs";

const [baseFile, overlayFile] = process.argv.slice(2);
if (!baseFile || !overlayFile) {
  console.error("usage: node envoy_config_test.mjs <base.yaml> <overlay.yaml>");
  process.exit(2);
}
const base = loadObjects(baseFile);
const overlay = loadObjects(overlayFile);

const EXT_AUTHZ = "envoy.filters.http.ext_authz";
const TYPE = "type.googleapis.com/envoy.extensions.filters.http.ext_authz.v3.";
const HTTP_OPTIONS = "envoy.extensions.upstreams.http.v3.HttpProtocolOptions";
// Keygate's scope grammar (server/core/scope.cc): level, or resource:level.
const SCOPE = /^(?:[a-z0-9][a-z0-9_-]{0,63}:)?(?:read|write|admin)$/;

// The Envoy configuration file the sidecar is started with.
function envoyConfig() {
  for (const o of overlay.filter((x) => x.kind === "Deployment")) {
    const spec = o.spec.template.spec;
    for (const c of spec.containers.filter((x) => x.image?.startsWith("envoyproxy/envoy"))) {
      const args = [...(c.command ?? []), ...(c.args ?? [])];
      const i = args.findIndex((a) => a === "--config-path" || a === "-c");
      const path = args[i + 1];
      const mount = c.volumeMounts.find((m) => path?.startsWith(`${m.mountPath}/`));
      const name = spec.volumes.find((v) => v.name === mount?.name)?.configMap?.name;
      const cm = overlay.find((x) => x.kind === "ConfigMap" && x.metadata.name === name &&
        x.metadata.namespace === o.metadata.namespace);
      const text = cm?.data?.[path.slice(mount.mountPath.length + 1)];
      assert.ok(text, `Envoy's ${path} is not in a ConfigMap of the overlay`);
      return parseYaml(text, `ConfigMap ${name}`);
    }
  }
  assert.fail("no Deployment with an envoyproxy/envoy container in the overlay");
}

const config = envoyConfig();
const clusters = config.static_resources?.clusters ?? [];
const managers = (config.static_resources?.listeners ?? [])
  .flatMap((l) => l.filter_chains ?? [])
  .flatMap((fc) => fc.filters ?? [])
  .filter((f) => f.name === "envoy.filters.network.http_connection_manager")
  .map((f) => f.typed_config);
const virtualHosts = managers.flatMap((m) => m.route_config?.virtual_hosts ?? []);

function socketAddresses(cluster) {
  return (cluster.load_assignment?.endpoints ?? [])
    .flatMap((e) => e.lb_endpoints ?? [])
    .map((e) => e.endpoint?.address?.socket_address);
}

// The ext_authz per-route setting of a route (the route's own, else its
// virtual host's): {disabled} or {scope}.
function authzOf(route, vhost) {
  const perRoute = route.typed_per_filter_config?.[EXT_AUTHZ] ??
    vhost.typed_per_filter_config?.[EXT_AUTHZ];
  if (!perRoute) return { scope: undefined };
  assert.equal(perRoute["@type"], `${TYPE}ExtAuthzPerRoute`);
  if (perRoute.disabled === true) return { disabled: true };
  return { scope: perRoute.check_settings?.context_extensions?.required_scope };
}

// The literal path a route matches on, and whether it is a prefix.
function pathMatch(match) {
  if (match.path !== undefined) return { path: match.path, exact: true };
  if (match.prefix !== undefined) return { path: match.prefix };
  if (match.path_separated_prefix !== undefined) return { path: match.path_separated_prefix };
  if (match.safe_regex) return { path: match.safe_regex.regex.replace(/^\^/, ""), regex: true };
  assert.fail(`route match ${JSON.stringify(match)} is not understood by this test`);
}

// Envoy's first-match routing for a request (method + path): path, prefix,
// path_separated_prefix, safe_regex, and :method header matchers.
function stringMatches(m, value) {
  if (m.exact !== undefined) return value === m.exact;
  if (m.prefix !== undefined) return value.startsWith(m.prefix);
  if (m.safe_regex) return new RegExp(`^(?:${m.safe_regex.regex})$`).test(value);
  assert.fail(`string matcher ${JSON.stringify(m)} is not understood by this test`);
}
function routeFor(method, path) {
  const headers = { ":method": method, ":path": path };
  for (const vhost of virtualHosts) {
    for (const route of vhost.routes) {
      const m = route.match;
      const ok =
        (m.path !== undefined && path === m.path) ||
        (m.prefix !== undefined && path.startsWith(m.prefix)) ||
        (m.path_separated_prefix !== undefined &&
          (path === m.path_separated_prefix || path.startsWith(`${m.path_separated_prefix}/`))) ||
        (m.safe_regex !== undefined && new RegExp(`^(?:${m.safe_regex.regex})$`).test(path));
      const headersOk = (m.headers ?? []).every((h) => {
        assert.ok(h.name in headers, `header matcher on ${h.name} is not understood by this test`);
        const matched = h.string_match ? stringMatches(h.string_match, headers[h.name])
          : h.exact_match !== undefined ? headers[h.name] === h.exact_match
            : assert.fail(`header matcher ${JSON.stringify(h)} is not understood by this test`);
        return h.invert_match ? !matched : matched;
      });
      if (ok && headersOk) return { route, vhost, ...authzOf(route, vhost) };
    }
  }
  return null;
}

describe("Envoy ext_authz sidecar configuration", () => {
  test("has one HTTP connection manager with routes", () => {
    assert.equal(managers.length, 1, "expected one http_connection_manager");
    assert.ok(virtualHosts.length > 0 && virtualHosts.every((v) => v.routes?.length > 0));
  });

  test("ext_authz calls cluster keygate over gRPC, V3, failing closed, before the router", () => {
    for (const hcm of managers) {
      const filters = hcm.http_filters ?? [];
      const i = filters.findIndex((f) => f.name === EXT_AUTHZ);
      assert.ok(i >= 0, `no ${EXT_AUTHZ} filter`);
      const authz = filters[i].typed_config;
      assert.equal(authz["@type"], `${TYPE}ExtAuthz`);
      assert.equal(authz.grpc_service?.envoy_grpc?.cluster_name, "keygate");
      assert.equal(authz.http_service, undefined, "must call Keygate over gRPC, not HTTP");
      assert.equal(authz.transport_api_version, "V3");
      assert.equal(authz.failure_mode_allow, false, "failure_mode_allow must be false (fail closed)");
      const router = filters.findIndex((f) => f.name === "envoy.filters.http.router");
      assert.equal(router, filters.length - 1, "the router must be the last filter");
      assert.ok(i < router, "ext_authz must run before the router");
    }
  });

  test("cluster keygate speaks HTTP/2 to Keygate's Service", () => {
    const keygate = clusters.find((c) => c.name === "keygate");
    assert.ok(keygate, "no cluster named keygate");
    const options = keygate.typed_extension_protocol_options?.[HTTP_OPTIONS];
    assert.equal(options?.["@type"], `type.googleapis.com/${HTTP_OPTIONS}`);
    assert.equal(typeof options.explicit_http_config?.http2_protocol_options, "object",
      "explicit_http_config.http2_protocol_options (gRPC needs HTTP/2)");
    assert.ok(["STRICT_DNS", "LOGICAL_DNS"].includes(keygate.type), "a Service name needs a DNS cluster");

    const addresses = socketAddresses(keygate);
    assert.ok(addresses.length > 0, "cluster keygate has no endpoint");
    for (const a of addresses) {
      const [name, namespace, ...rest] = String(a.address).split(".");
      const suffix = rest.join(".");
      assert.ok(["svc.cluster.local", "svc", ""].includes(suffix), `${a.address} is not a Service DNS name`);
      const svc = base.find((o) => o.kind === "Service" && o.metadata.name === name);
      assert.ok(svc, `${a.address}: the base has no Service ${name}`);
      assert.equal(namespace, svc.metadata.namespace, `${a.address}: Service ${name} is in ${svc.metadata.namespace}`);
      const grpc = svc.spec.ports.find((p) => p.name === "grpc");
      assert.equal(a.port_value, grpc?.port, `${a.address}: port is not the Service's grpc port`);
    }
  });

  test("every route under /api requires a scope in Keygate's grammar", () => {
    let apiRoutes = 0;
    for (const vhost of virtualHosts) {
      for (const route of vhost.routes) {
        const { path, regex } = pathMatch(route.match);
        const authz = authzOf(route, vhost);
        const where = `route ${JSON.stringify(route.match)}`;
        if (authz.scope !== undefined) assert.match(authz.scope, SCOPE, `${where}: scope ${authz.scope}`);
        if (!path.startsWith("/api") && !(regex && path.startsWith("\\/api"))) continue;
        apiRoutes++;
        assert.ok(!authz.disabled, `${where}: ext_authz is disabled under /api`);
        assert.ok(authz.scope, `${where}: no required_scope context extension`);
      }
    }
    assert.ok(apiRoutes > 0, "no route under /api");
  });

  test("only exact paths reach the application without authorization", () => {
    for (const vhost of virtualHosts) {
      for (const route of vhost.routes) {
        if (!authzOf(route, vhost).disabled || route.direct_response) continue;
        assert.ok(route.match.path !== undefined && !route.match.headers,
          `route ${JSON.stringify(route.match)} forwards without authorization`);
      }
    }
  });

  test("requests land on the scope they need", () => {
    const expected = [
      ["GET", "/api/v1/flows", "flows:read"],
      ["HEAD", "/api/v1/flows/flow_123", "flows:read"],
      ["POST", "/api/v1/flows", "flows:write"],
      ["DELETE", "/api/v1/flows/flow_123", "flows:write"],
      ["GET", "/api/v1/runs", "runs:read"],
      ["GET", "/api/v1/runs/run_9/logs", "runs:read"],
      ["POST", "/api/v1/runs", "runs:write"],
    ];
    for (const [method, path, scope] of expected) {
      const r = routeFor(method, path);
      assert.ok(r, `${method} ${path}: no route`);
      assert.equal(r.scope, scope, `${method} ${path}`);
    }
    // Lookalikes must not borrow the flows:read route.
    assert.notEqual(routeFor("GET", "/api/v1/flowsecrets")?.scope, "flows:read");
    // An API path without a route of its own still needs a key.
    for (const path of ["/api/v1/connections", "/api/v2/teams"]) {
      const r = routeFor("GET", path);
      assert.ok(r && !r.disabled && SCOPE.test(r.scope ?? ""), `GET ${path} is not authorized`);
    }
  });

  test("/healthz reaches the local app without authorization", () => {
    const r = routeFor("GET", "/healthz");
    assert.ok(r?.disabled, "/healthz must skip ext_authz (Kubernetes probes carry no key)");
    const app = clusters.find((c) => c.name === r.route.route?.cluster);
    assert.ok(app, "/healthz is not routed to a cluster");
    assert.deepEqual(socketAddresses(app).map((a) => `${a.address}:${a.port_value}`), ["127.0.0.1:8080"]);
    for (const [method, path] of [["GET", "/api/v1/flows"], ["POST", "/api/v1/runs"]]) {
      assert.equal(routeFor(method, path).route.route?.cluster, app.name, `${method} ${path}`);
    }
  });
});
