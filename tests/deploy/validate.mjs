// Validates every object of the given multi-document YAML files against the
// Kubernetes API schemas of the kubernetes-models package, offline.
//
//   node validate.mjs rendered.yaml [more.yaml ...]
//
// kubernetes-models checks types, required fields and formats, but its
// schemas accept unknown fields (a misspelt `readinesProbe` would pass). So
// the validation also runs through a recording proxy: every field the schema
// validator never looked at is a field the API does not have, and fails the
// object, as `kubectl apply --validate=strict` would.
import { loadObjects, objectId } from "./k8s_yaml.mjs";

const files = process.argv.slice(2);
if (files.length === 0) {
  console.error("usage: node validate.mjs <file.yaml>...");
  process.exit(2);
}

const modules = new Map();
async function modelClass(apiVersion, kind) {
  if (!modules.has(apiVersion)) {
    let mod = null;
    try {
      mod = await import(`kubernetes-models/${apiVersion}`);
    } catch {
      // unknown group/version: reported below
    }
    modules.set(apiVersion, mod);
  }
  return modules.get(apiVersion)?.[kind];
}

// Runs model.validate() with every object and array of the model wrapped in
// a proxy that records which keys the validator read; returns the paths of
// the keys it never read.
function validateStrict(model) {
  const read = new WeakMap();
  const proxies = new WeakMap();
  const wrap = (value) => {
    if (value === null || typeof value !== "object") return value;
    if (!proxies.has(value)) {
      proxies.set(value, new Proxy(value, {
        get(target, key) {
          if (typeof key === "string") {
            if (!read.has(target)) read.set(target, new Set());
            read.get(target).add(key);
          }
          return wrap(Reflect.get(target, key));
        },
      }));
    }
    return proxies.get(value);
  };
  wrap(model).validate(); // throws on schema errors

  const unknown = [];
  const walk = (value, path) => {
    if (value === null || typeof value !== "object") return;
    if (Array.isArray(value)) {
      value.forEach((item, i) => walk(item, `${path}[${i}]`));
      return;
    }
    const seen = read.get(value) ?? new Set();
    for (const key of Object.keys(value)) {
      if (!seen.has(key)) unknown.push(`${path}.${key}`);
      else walk(value[key], `${path}.${key}`);
    }
  };
  walk(model, "");
  return unknown.map((p) => p.slice(1));
}

let passed = 0;
let failed = 0;
for (const file of files) {
  for (const object of loadObjects(file)) {
    const id = objectId(object);
    const Model = await modelClass(object.apiVersion, object.kind);
    if (!Model) {
      console.log(`not ok - ${id}: kubernetes-models has no ${object.apiVersion} ${object.kind}`);
      failed++;
      continue;
    }
    try {
      const unknown = validateStrict(new Model(object));
      if (unknown.length > 0) throw new Error(`unknown field(s): ${unknown.join(", ")}`);
      console.log(`ok - ${id} (${object.apiVersion})`);
      passed++;
    } catch (e) {
      console.log(`not ok - ${id}: ${e.message}`);
      failed++;
    }
  }
}
console.log(`validate: ${passed} passed, ${failed} failed`);
process.exit(failed === 0 && passed > 0 ? 0 : 1);
