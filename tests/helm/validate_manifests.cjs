#!/usr/bin/env node
// Validates rendered Helm manifests offline, three ways:
//  1. schema: each document against its Kubernetes JSON schema (npm kubernetes-models; the
//     ServiceMonitor against @kubernetes-models/prometheus-operator). A kind without a schema fails.
//  2. strict: no unknown fields (as kubectl --validate=strict / kubeconform -strict): the JSON
//     schemas allow any extra key, so this walks each object along the models' TypeScript
//     declarations (*.d.ts), which list every field of every type.
//  3. chart invariants: Services select the workload's pods and target its named ports, the
//     pods run non-root with a read-only root filesystem and no capabilities beyond
//     NET_BIND_SERVICE, the main container has startup/liveness/readiness probes and a preStop
//     hook, the ConfigMap's configuration holds no secret and only keys the server knows.
// With --extract DIR, also writes each release's ConfigMap and (decoded) Secret data to
// DIR/NAME/{config-source,secret}/ for the configuration check against the real binary.
//
// usage: node validate_manifests.cjs --modules TOOLS/helm-validate [--extract DIR] NAME=FILE...
// Exit status 0 when everything passes; 1 with one line per problem otherwise.
'use strict';
const fs = require('fs');
const path = require('path');
const { createRequire } = require('module');

const args = process.argv.slice(2);
let modulesRoot = null;
let extractDir = null;
const inputs = [];
for (let i = 0; i < args.length; i++) {
  if (args[i] === '--modules') modulesRoot = args[++i];
  else if (args[i] === '--extract') extractDir = args[++i];
  else inputs.push(args[i]);
}
if (!modulesRoot || inputs.length === 0) {
  console.error('usage: validate_manifests.cjs --modules DIR [--extract DIR] NAME=FILE...');
  process.exit(2);
}
const nodeModules = path.join(path.resolve(modulesRoot), 'node_modules');
const requireFromTools = createRequire(path.join(path.resolve(modulesRoot), 'package.json'));
const yaml = requireFromTools('js-yaml');

// ---------------------------------------------------------------- 1. JSON schema per kind
function modelModule(apiVersion, kind) {
  if (typeof apiVersion !== 'string' || typeof kind !== 'string') return null;
  const pkg = apiVersion.startsWith('monitoring.coreos.com/')
    ? '@kubernetes-models/prometheus-operator'
    : 'kubernetes-models';
  const file = path.join(nodeModules, pkg, apiVersion, kind + '.js');
  return fs.existsSync(file) ? file : null;
}

function schemaErrors(doc) {
  const file = modelModule(doc.apiVersion, doc.kind);
  if (!file) return [`no schema for apiVersion ${doc.apiVersion} kind ${doc.kind}`];
  const Model = requireFromTools(file)[doc.kind];
  try {
    new Model(doc).validate();
    return [];
  } catch (e) {
    const details = (e.errors || []).map((x) => `${x.instancePath || '/'} ${x.message}` +
      (x.params && x.params.allowedValues ? ` (${x.params.allowedValues.join(', ')})` : ''));
    return details.length ? details : [String(e.message || e)];
  }
}

// ---------------------------------------------------------------- 2. unknown fields via .d.ts
// A small parser for the declarations kubernetes-models generates: interfaces whose members are
// "name"?: TYPE; with TYPE one of Array<T>, T[], { members }, { [key: string]: T }, unions,
// string/number literals, primitives and references to imported interfaces or type aliases.
const declCache = new Map();

function tokenize(src) {
  const tokens = [];
  const re = /\s+|"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*'|[A-Za-z_$][\w$]*|-?\d+(?:\.\d+)?|=>|[{}<>\[\]():;?|,=.&]/y;
  let m;
  re.lastIndex = 0;
  while (re.lastIndex < src.length) {
    const at = re.lastIndex;
    m = re.exec(src);
    if (!m) throw new Error(`cannot tokenize at ${src.slice(at, at + 40)}`);
    if (!/^\s+$/.test(m[0])) tokens.push(m[0]);
  }
  return tokens;
}

class TypeParser {
  constructor(tokens, pos) { this.t = tokens; this.i = pos; }
  peek(k = 0) { return this.t[this.i + k]; }
  next() { return this.t[this.i++]; }
  expect(s) {
    const got = this.next();
    if (got !== s) throw new Error(`expected ${s}, got ${got}`);
  }
  type() {
    if (this.peek() === '|') this.next();
    const options = [this.postfix()];
    while (this.peek() === '|') { this.next(); options.push(this.postfix()); }
    return options.length === 1 ? options[0] : { union: options };
  }
  postfix() {
    let t = this.primary();
    while (this.peek() === '[' && this.peek(1) === ']') { this.next(); this.next(); t = { array: t }; }
    return t;
  }
  skipGeneric() {  // after '<', to the matching '>'
    let depth = 1;
    while (depth > 0) {
      const s = this.next();
      if (s === undefined) throw new Error('unterminated <');
      if (s === '<') depth++;
      else if (s === '>') depth--;
    }
  }
  primary() {
    const s = this.next();
    if (s === '{') return this.members();
    if (s === '(') { const t = this.type(); this.expect(')'); return t; }
    if (/^["']/.test(s) || /^-?\d/.test(s)) return { literal: s };
    if (s === 'Array' && this.peek() === '<') {
      this.next();
      const t = this.type();
      this.expect('>');
      return { array: t };
    }
    if (/^[A-Za-z_$]/.test(s)) {
      let name = s;
      while (this.peek() === '.') { this.next(); name += '.' + this.next(); }
      if (this.peek() === '<') { this.next(); this.skipGeneric(); return { any: true }; }
      if (this.peek() === '[') {  // indexed access type, e.g. IStatefulSet["kind"]
        if (this.peek(1) !== ']') { this.next(); this.type(); this.expect(']'); return { any: true }; }
      }
      if (['string', 'number', 'boolean', 'null', 'undefined', 'bigint'].includes(name)) return { prim: name };
      if (['any', 'unknown', 'object', 'never'].includes(name)) return { any: true };
      return { ref: name };
    }
    throw new Error(`unexpected token ${s}`);
  }
  members() {  // after '{'
    const fields = new Map();
    let index = null;
    while (this.peek() !== '}') {
      if (this.peek() === ';' || this.peek() === ',') { this.next(); continue; }
      if (this.peek() === 'readonly') this.next();
      if (this.peek() === '[') {
        this.next(); this.next(); this.expect(':'); this.type(); this.expect(']'); this.expect(':');
        index = this.type();
        continue;
      }
      let name = this.next();
      if (/^["']/.test(name)) name = JSON.parse(name.startsWith("'") ? `"${name.slice(1, -1)}"` : name);
      if (this.peek() === '?') this.next();
      if (this.peek() === '(') {  // a method: skip its signature
        let depth = 0;
        do { const s = this.next(); if (s === '(') depth++; else if (s === ')') depth--; } while (depth > 0);
        this.expect(':'); this.type();
        continue;
      }
      this.expect(':');
      fields.set(name, this.type());
    }
    this.expect('}');
    return { object: fields, index };
  }
}

function loadDecl(file) {
  if (declCache.has(file)) return declCache.get(file);
  const decl = { file, imports: new Map(), interfaces: new Map(), aliases: new Map(), exported: new Map() };
  declCache.set(file, decl);
  if (!fs.existsSync(file)) return decl;
  const src = fs.readFileSync(file, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  for (const m of src.matchAll(/import\s*\{([^}]*)\}\s*from\s*"([^"]+)"/g)) {
    for (const part of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      const [orig, local] = part.split(/\s+as\s+/).map((s) => s.trim());
      decl.imports.set(local || orig, { spec: m[2], name: orig });
    }
  }
  for (const m of src.matchAll(/export\s*\{([^}]*)\}\s*;/g)) {
    for (const part of m[1].split(',').map((s) => s.trim()).filter(Boolean)) {
      const [orig, as] = part.split(/\s+as\s+/).map((s) => s.trim());
      decl.exported.set(as || orig, orig);
    }
  }
  const tokens = tokenize(src);
  for (let i = 0; i < tokens.length; i++) {
    if (tokens[i] === 'interface' && /^[A-Za-z_$]/.test(tokens[i + 1] || '')) {
      const name = tokens[i + 1];
      let j = i + 2;
      while (tokens[j] !== '{') j++;  // skip generics and "extends ..."
      const p = new TypeParser(tokens, j + 1);
      decl.interfaces.set(name, p.members());
      i = p.i - 1;
    } else if (tokens[i] === 'type' && /^[A-Za-z_$]/.test(tokens[i + 1] || '') && tokens[i + 2] === '=') {
      const p = new TypeParser(tokens, i + 3);
      decl.aliases.set(tokens[i + 1], p.type());
      i = p.i - 1;
    }
  }
  return decl;
}

function resolveSpec(fromFile, spec) {
  const base = spec.startsWith('.') ? path.resolve(path.dirname(fromFile), spec) : path.join(nodeModules, spec);
  for (const f of [base + '.d.ts', path.join(base, 'index.d.ts')]) if (fs.existsSync(f)) return f;
  return null;
}

// The type named NAME as seen from DECL (null: unknown, accept anything).
function resolveRef(decl, name, depth = 0) {
  if (depth > 20) return null;
  const local = decl.exported.get(name) || name;
  if (decl.interfaces.has(local)) return { t: decl.interfaces.get(local), decl };
  if (decl.aliases.has(local)) return { t: decl.aliases.get(local), decl };
  const imp = decl.imports.get(name);
  if (!imp) return null;
  const file = resolveSpec(decl.file, imp.spec);
  return file ? resolveRef(loadDecl(file), imp.name, depth + 1) : null;
}

function isPlainObject(v) { return v !== null && typeof v === 'object' && !Array.isArray(v); }

function unknownFields(value, type, decl, where, out) {
  if (!type || type.any || type.prim || type.literal) return;
  if (type.ref) {
    const r = resolveRef(decl, type.ref);
    if (r) unknownFields(value, r.t, r.decl, where, out);
    return;
  }
  if (type.array) {
    if (Array.isArray(value)) value.forEach((v, i) => unknownFields(v, type.array, decl, `${where}[${i}]`, out));
    return;
  }
  if (type.union) {
    // Accept when any alternative accepts the value without unknown fields.
    let best = null;
    for (const option of type.union) {
      const errs = [];
      unknownFields(value, option, decl, where, errs);
      if (errs.length === 0) return;
      if (!best || errs.length < best.length) best = errs;
    }
    out.push(...best);
    return;
  }
  if (type.object && isPlainObject(value)) {
    for (const [k, v] of Object.entries(value)) {
      const sub = where ? `${where}.${k}` : k;
      if (type.object.has(k)) unknownFields(v, type.object.get(k), decl, sub, out);
      else if (type.index) unknownFields(v, type.index, decl, sub, out);
      else out.push(`${sub}: unknown field`);
    }
  }
}

function strictErrors(doc) {
  const js = modelModule(doc.apiVersion, doc.kind);
  if (!js) return [];
  const decl = loadDecl(js.replace(/\.js$/, '.d.ts'));
  const root = decl.interfaces.get('I' + doc.kind);
  if (!root) return [`no declaration I${doc.kind} in ${decl.file}`];
  const out = [];
  unknownFields(doc, root, decl, '', out);
  return out;
}

// ---------------------------------------------------------------- 3. chart invariants
// Keys of the server's configuration file (gateway/config.cc), and those the chart renders for
// features that land later (issue 8: store.kind/url, replica).
const CONFIG_KEYS = {
  '': ['sip', 'data_dir', 'realms', 'nonce', 'store', 'log_level', 'threads', 'auth_throttle', 'grpc', 'api', 'events',
       'calls', 'metrics', 'shutdown'],
  sip: ['listen', 'tcp_idle_timeout', 'tcp_max_connections', 'advertise'],
  nonce: ['lifetime', 'max_tracked'],  // "secret" is refused: secrets never go into the ConfigMap
  store: ['synchronous'],
  auth_throttle: ['enabled', 'max_failures', 'window', 'cooldown', 'action'],
  grpc: ['listen', 'tls'],
  'grpc.tls': ['cert_file', 'key_file', 'client_ca_file'],
  events: ['max_count', 'max_age', 'watcher_buffer', 'max_watchers'],
  calls: ['max_calls', 'rate_per_token', 'burst_per_token', 'inbound_ring_timeout', 'ended_retention', 'max_ended',
          'watcher_buffer', 'max_watchers'],
  metrics: ['listen'],
  shutdown: ['grace_period'],
};
const LATER_KEYS = {};
const SECRET_TOP_LEVEL = ['api', 'realms'];

function checkConfigKeys(node, where, out) {
  const allowed = CONFIG_KEYS[where];
  const later = LATER_KEYS[where] || [];
  if (!allowed && !later.length) return;
  if (!isPlainObject(node)) { out.push(`switchboard.yaml ${where || '(top level)'}: expected a mapping`); return; }
  for (const [k, v] of Object.entries(node)) {
    const sub = where ? `${where}.${k}` : k;
    if (where === '' && SECRET_TOP_LEVEL.includes(k)) out.push(`switchboard.yaml: ${k} holds secrets and belongs in the Secret`);
    else if (!(allowed || []).includes(k) && !later.includes(k)) out.push(`switchboard.yaml: ${sub}: not a key the server knows`);
    else if (isPlainObject(v)) checkConfigKeys(v, sub, out);
  }
}

function podSpecOf(doc) {
  if (['StatefulSet', 'Deployment', 'DaemonSet'].includes(doc.kind)) return doc.spec && doc.spec.template && doc.spec.template.spec;
  return null;
}

function chartErrors(docs) {
  const out = [];
  const workloads = docs.filter((d) => podSpecOf(d));
  if (workloads.length !== 1) out.push(`expected exactly one workload, found ${workloads.length}`);
  const w = workloads[0];
  if (w) {
    const name = `${w.kind}/${w.metadata.name}`;
    const pod = podSpecOf(w);
    const podLabels = (w.spec.template.metadata || {}).labels || {};
    const selector = (w.spec.selector || {}).matchLabels || {};
    for (const [k, v] of Object.entries(selector)) if (podLabels[k] !== v) out.push(`${name}: selector ${k}=${v} does not match the pod labels`);
    const psc = pod.securityContext || {};
    if (psc.runAsNonRoot !== true) out.push(`${name}: pod securityContext.runAsNonRoot is not true`);
    if (!pod.terminationGracePeriodSeconds) out.push(`${name}: no terminationGracePeriodSeconds`);
    if (pod.hostNetwork && pod.dnsPolicy !== 'ClusterFirstWithHostNet') out.push(`${name}: hostNetwork without dnsPolicy ClusterFirstWithHostNet`);
    const containers = [...(pod.initContainers || []), ...(pod.containers || [])];
    const ports = new Map();  // name -> protocol
    for (const c of containers) {
      const sc = c.securityContext || {};
      const where = `${name} container ${c.name}`;
      if (sc.readOnlyRootFilesystem !== true) out.push(`${where}: readOnlyRootFilesystem is not true`);
      if (sc.allowPrivilegeEscalation !== false) out.push(`${where}: allowPrivilegeEscalation is not false`);
      if (sc.privileged) out.push(`${where}: privileged`);
      const caps = sc.capabilities || {};
      if (!(caps.drop || []).includes('ALL')) out.push(`${where}: capabilities do not drop ALL`);
      for (const cap of caps.add || []) if (cap !== 'NET_BIND_SERVICE') out.push(`${where}: adds capability ${cap}`);
      for (const p of c.ports || []) ports.set(p.name, p.protocol || 'TCP');
    }
    const main = (pod.containers || []).find((c) => c.name === 'switchboard');
    if (!main) out.push(`${name}: no container named switchboard`);
    else {
      for (const probe of ['startupProbe', 'livenessProbe', 'readinessProbe']) if (!main[probe]) out.push(`${name}: switchboard container has no ${probe}`);
      if (!(main.lifecycle && main.lifecycle.preStop)) out.push(`${name}: switchboard container has no preStop hook`);
      const lowPorts = (main.ports || []).filter((p) => p.containerPort < 1024);
      const adds = ((main.securityContext || {}).capabilities || {}).add || [];
      if (lowPorts.length && !adds.includes('NET_BIND_SERVICE')) out.push(`${name}: binds port ${lowPorts[0].containerPort} without NET_BIND_SERVICE`);
      if (!lowPorts.length && adds.includes('NET_BIND_SERVICE')) out.push(`${name}: NET_BIND_SERVICE without a port below 1024`);
      const env = new Map((main.env || []).map((e) => [e.name, e]));
      const nonce = env.get('SWITCHBOARD_NONCE_SECRET');
      if (!nonce || !(nonce.valueFrom && nonce.valueFrom.secretKeyRef)) out.push(`${name}: SWITCHBOARD_NONCE_SECRET does not come from a Secret`);
    }
    // Every ConfigMap and Secret the pod mounts or reads exists, unless it is the user's own.
    const names = (kind) => new Set(docs.filter((d) => d.kind === kind).map((d) => d.metadata.name));
    const configMaps = names('ConfigMap');
    for (const v of pod.volumes || []) if (v.configMap && !configMaps.has(v.configMap.name)) out.push(`${name}: volume ${v.name} names a ConfigMap ${v.configMap.name} the chart does not render`);
    for (const svc of docs.filter((d) => d.kind === 'Service')) {
      const sel = svc.spec.selector || {};
      if (!Object.keys(sel).length) out.push(`Service/${svc.metadata.name}: no selector`);
      for (const [k, v] of Object.entries(sel)) if (podLabels[k] !== v) out.push(`Service/${svc.metadata.name}: selector ${k}=${v} matches no pod label`);
      for (const p of svc.spec.ports || []) {
        if (typeof p.targetPort === 'string' && !ports.has(p.targetPort)) out.push(`Service/${svc.metadata.name}: targetPort ${p.targetPort} is not a container port`);
        else if (typeof p.targetPort === 'string' && ports.get(p.targetPort) !== (p.protocol || 'TCP')) out.push(`Service/${svc.metadata.name}: port ${p.name} protocol ${p.protocol} differs from the container's`);
      }
      const external = ['NodePort', 'LoadBalancer'].includes(svc.spec.type);
      if (external && svc.spec.externalTrafficPolicy !== 'Local') out.push(`Service/${svc.metadata.name}: externalTrafficPolicy ${svc.spec.externalTrafficPolicy || 'Cluster'} hides the devices' source addresses from the server (set Local)`);
    }
    if (w.kind === 'StatefulSet') {
      const governing = docs.find((d) => d.kind === 'Service' && d.metadata.name === w.spec.serviceName);
      if (!governing) out.push(`${name}: serviceName ${w.spec.serviceName} is not rendered`);
      else if (governing.spec.clusterIP !== 'None') out.push(`${name}: serviceName ${w.spec.serviceName} is not headless`);
    }
  }
  for (const pdb of docs.filter((d) => d.kind === 'PodDisruptionBudget')) {
    const sel = (pdb.spec.selector || {}).matchLabels || {};
    const podLabels = w ? ((w.spec.template.metadata || {}).labels || {}) : {};
    for (const [k, v] of Object.entries(sel)) if (podLabels[k] !== v) out.push(`PodDisruptionBudget/${pdb.metadata.name}: selector ${k}=${v} matches no pod label`);
  }
  for (const sm of docs.filter((d) => d.kind === 'ServiceMonitor')) {
    const sel = sm.spec.selector.matchLabels || {};
    const hits = docs.filter((d) => d.kind === 'Service' && Object.entries(sel).every(([k, v]) => (d.metadata.labels || {})[k] === v));
    if (!hits.length) out.push(`ServiceMonitor/${sm.metadata.name}: selects no Service`);
    for (const ep of sm.spec.endpoints) if (!hits.some((s) => (s.spec.ports || []).some((p) => p.name === ep.port))) out.push(`ServiceMonitor/${sm.metadata.name}: no selected Service has port ${ep.port}`);
  }
  for (const cm of docs.filter((d) => d.kind === 'ConfigMap')) {
    const text = (cm.data || {})['switchboard.yaml'];
    if (text === undefined) { out.push(`ConfigMap/${cm.metadata.name}: no switchboard.yaml`); continue; }
    let cfg;
    try { cfg = yaml.load(text); } catch (e) { out.push(`ConfigMap/${cm.metadata.name}: switchboard.yaml is not YAML: ${e.message}`); continue; }
    checkConfigKeys(cfg, '', out);
    if (/\b\d(\.\d+)?e\+\d+\b/.test(text)) out.push(`ConfigMap/${cm.metadata.name}: a number in exponent notation (the server wants plain integers)`);
  }
  for (const s of docs.filter((d) => d.kind === 'Secret')) {
    const frag = (s.data || {})['switchboard-secret.yaml'];
    if (frag === undefined) continue;
    const text = Buffer.from(frag, 'base64').toString('utf8');
    let parsed;
    try { parsed = yaml.load(text); } catch (e) { out.push(`Secret/${s.metadata.name}: switchboard-secret.yaml is not YAML: ${e.message}`); continue; }
    for (const k of Object.keys(parsed || {})) if (!SECRET_TOP_LEVEL.includes(k)) out.push(`Secret/${s.metadata.name}: switchboard-secret.yaml has top-level ${k}`);
    if (/\b\d(\.\d+)?e\+\d+\b/.test(text)) out.push(`Secret/${s.metadata.name}: a number in exponent notation in switchboard-secret.yaml`);
  }
  return out;
}

// ---------------------------------------------------------------- main
let failures = 0;
for (const input of inputs) {
  const eq = input.indexOf('=');
  const name = eq > 0 ? input.slice(0, eq) : path.basename(input);
  const file = eq > 0 ? input.slice(eq + 1) : input;
  const docs = yaml.loadAll(fs.readFileSync(file, 'utf8')).filter((d) => d !== null && d !== undefined);
  const problems = [];
  const kinds = [];
  for (const doc of docs) {
    const id = `${doc.kind}/${doc.metadata && doc.metadata.name}`;
    kinds.push(id);
    for (const e of schemaErrors(doc)) problems.push(`${id}: schema: ${e}`);
    for (const e of strictErrors(doc)) problems.push(`${id}: strict: ${e}`);
  }
  for (const e of chartErrors(docs)) problems.push(`chart: ${e}`);
  if (extractDir) {
    const dir = path.join(extractDir, name);
    fs.rmSync(dir, { recursive: true, force: true });
    for (const d of docs) {
      if (d.kind === 'ConfigMap') {
        fs.mkdirSync(path.join(dir, 'config-source'), { recursive: true });
        for (const [k, v] of Object.entries(d.data || {})) fs.writeFileSync(path.join(dir, 'config-source', k), v);
      } else if (d.kind === 'Secret') {
        fs.mkdirSync(path.join(dir, 'secret'), { recursive: true });
        for (const [k, v] of Object.entries(d.data || {})) fs.writeFileSync(path.join(dir, 'secret', k), Buffer.from(v, 'base64'), { mode: 0o600 });
      }
    }
    // The environment of the init container and of the server, NAME=VALUE per line, as the
    // kubelet would give it: Secret keys of the chart's Secrets, placeholders for the user's own
    // Secrets and the downward API, $(VAR) expanded.
    const w = docs.find((d) => podSpecOf(d));
    if (w) {
      const secrets = new Map(docs.filter((d) => d.kind === 'Secret').map((d) => [d.metadata.name, d.data || {}]));
      const field = { 'metadata.name': `${w.metadata.name}-0`, 'metadata.namespace': 'default', 'status.podIP': '10.0.0.10' };
      const envFile = (container, file) => {
        const vars = new Map();
        for (const e of (container && container.env) || []) {
          let v = '';
          if (e.value !== undefined) v = String(e.value).replace(/\$\(([A-Za-z_][A-Za-z0-9_]*)\)/g, (m, n) => (vars.has(n) ? vars.get(n) : m));
          else if (e.valueFrom && e.valueFrom.fieldRef) v = field[e.valueFrom.fieldRef.fieldPath] || '';
          else if (e.valueFrom && e.valueFrom.secretKeyRef) {
            const ref = e.valueFrom.secretKeyRef;
            const data = secrets.get(ref.name);
            if (data && data[ref.key] !== undefined) v = Buffer.from(data[ref.key], 'base64').toString('utf8');
            else v = /url/i.test(ref.key) ? 'redis://redis.placeholder.invalid:6379/0' : `placeholder-from-your-secret-${ref.name}-${ref.key}`;
          }
          if (/[\n\0]/.test(v)) { problems.push(`chart: env ${e.name} holds a newline`); continue; }
          vars.set(e.name, v);
        }
        fs.writeFileSync(path.join(dir, file), [...vars].map(([k, v]) => `${k}=${v}\n`).join(''), { mode: 0o600 });
      };
      const pod = podSpecOf(w);
      fs.mkdirSync(dir, { recursive: true });
      envFile((pod.initContainers || []).find((c) => c.name === 'config'), 'init.env');
      envFile((pod.containers || []).find((c) => c.name === 'switchboard'), 'main.env');
    }
  }
  if (problems.length) {
    failures += problems.length;
    for (const p of problems) console.log(`FAIL ${name}: ${p}`);
  } else {
    console.log(`ok   ${name}: ${docs.length} manifests valid (schema, no unknown fields, chart invariants): ${kinds.join(' ')}`);
  }
}
process.exit(failures ? 1 : 0);
