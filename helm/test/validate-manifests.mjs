// Validates every object of a rendered chart (helm template output) against the Kubernetes
// schemas of kubernetes-models, and the Prometheus Operator's for ServiceMonitor, offline.
// Usage: node validate-manifests.mjs RENDERED.yaml [OUT.json]
// Prints one line per object ("ok Kind/name" or "invalid Kind/name: why") and exits 1 when any
// object is invalid or has no schema; writes the parsed objects as a JSON array to OUT.json.
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { pathToFileURL } from "node:url";
import path from "node:path";

// Resolve the schema packages from the tools directory (install-tools.sh), not from this folder.
const tools = process.env.EGRESSD_HELM_TOOLS;
if (!tools) {
  console.error("validate-manifests: set EGRESSD_HELM_TOOLS to the directory install-tools.sh printed");
  process.exit(2);
}
const require = createRequire(path.join(tools, "package.json"));
const YAML = require("yaml");

// Kinds no installed package has a schema for: custom resources of operators egressd can use.
// Their shape is checked by the xunit tests instead.
const withoutSchema = new Set(["rabbitmq.com/v1beta1/RabbitmqCluster"]);

async function modelFor(apiVersion, kind) {
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const pkg = group === "monitoring.coreos.com" ? "@kubernetes-models/prometheus-operator" : "kubernetes-models";
  const subpath = group === "" ? `${version}/${kind}` : `${group}/${version}/${kind}`;
  let resolved;
  try {
    resolved = require.resolve(`${pkg}/${subpath}`);
  } catch {
    // Packages that only export ES modules: find the file in the package's folder.
    const root = path.dirname(require.resolve(`${pkg}/package.json`));
    resolved = path.join(root, `${subpath}.mjs`);
  }
  const module = resolved.endsWith(".mjs") ? await import(pathToFileURL(resolved).href) : require(resolved);
  return module[kind];
}

const [input, output] = process.argv.slice(2);
const docs = YAML.parseAllDocuments(readFileSync(input, "utf8"));
const objects = [];
let failures = 0;
for (const doc of docs) {
  if (doc.errors.length > 0) {
    console.log(`invalid YAML: ${doc.errors.map((e) => e.message).join("; ")}`);
    failures++;
    continue;
  }
  const obj = doc.toJS();
  if (obj === null || obj === undefined) continue;
  objects.push(obj);
  const id = `${obj.kind}/${obj.metadata?.name}`;
  if (withoutSchema.has(`${obj.apiVersion}/${obj.kind}`)) {
    console.log(`no schema (custom resource) ${id}`);
    continue;
  }
  let Model;
  try {
    Model = await modelFor(obj.apiVersion, obj.kind);
  } catch {
    Model = undefined;
  }
  if (!Model) {
    console.log(`invalid ${id}: no schema for ${obj.apiVersion} ${obj.kind}`);
    failures++;
    continue;
  }
  try {
    new Model(obj).validate();
    console.log(`ok ${id}`);
  } catch (e) {
    console.log(`invalid ${id}: ${e.message}`);
    failures++;
  }
}
if (output) writeFileSync(output, JSON.stringify(objects, null, 1));
console.log(`${objects.length} objects, ${failures} invalid`);
process.exit(failures > 0 ? 1 : 0);
