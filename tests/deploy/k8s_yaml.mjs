// Helpers shared by the deploy tests: multi-document YAML loading and
// Kubernetes label selectors.
import { readFileSync } from "node:fs";
import { parse, parseAllDocuments } from "yaml";

// Every object of a multi-document YAML file (kubectl kustomize output).
export function loadObjects(file) {
  const objects = [];
  for (const doc of parseAllDocuments(readFileSync(file, "utf8"))) {
    if (doc.errors.length > 0) {
      throw new Error(`${file}: ${doc.errors.map((e) => e.message).join("; ")}`);
    }
    const object = doc.toJS();
    if (object !== null && object !== undefined) objects.push(object);
  }
  return objects;
}

export function parseYaml(text, what) {
  try {
    return parse(text);
  } catch (e) {
    throw new Error(`${what}: ${e.message}`);
  }
}

export function objectId(o) {
  const ns = o.metadata?.namespace ? `${o.metadata.namespace}/` : "";
  return `${o.kind}/${ns}${o.metadata?.name}`;
}

// Whether a LabelSelector (matchLabels + matchExpressions) selects `labels`.
export function selects(selector, labels = {}) {
  if (!selector) return false;
  for (const [k, v] of Object.entries(selector.matchLabels ?? {})) {
    if (labels[k] !== v) return false;
  }
  for (const { key, operator, values = [] } of selector.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, key);
    if (operator === "In" && !(has && values.includes(labels[key]))) return false;
    if (operator === "NotIn" && has && values.includes(labels[key])) return false;
    if (operator === "Exists" && !has) return false;
    if (operator === "DoesNotExist" && has) return false;
  }
  return true;
}

// Go-style durations as the server flags take them: "5s", "1m30s", "500ms".
export function durationSeconds(text) {
  const units = { h: 3600, m: 60, s: 1, ms: 1e-3, us: 1e-6, ns: 1e-9 };
  const re = /(\d+(?:\.\d+)?)(h|ms|us|ns|m|s)/gy;
  let total = 0;
  let end = 0;
  for (const m of String(text).matchAll(re)) {
    total += Number(m[1]) * units[m[2]];
    end = m.index + m[0].length;
  }
  if (end === 0 || end !== String(text).length) throw new Error(`bad duration ${text}`);
  return total;
}
