import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { projectRoot } from '../pipeline/paths.js';
import type { ProfileSummary } from './results.js';

interface CpuProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number };
  hitCount?: number;
}

interface CpuProfile {
  nodes: CpuProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

/** The newest .cpuprofile in `dir` whose name starts with `label`, written after `since` (ms since the epoch). */
export function newestProfile(dir: string, label: string, since: number): string | undefined {
  const candidates = readdirSync(dir)
    .filter((f) => f.startsWith(label) && f.endsWith('.cpuprofile'))
    .map((f) => path.join(dir, f))
    .filter((f) => statSync(f).mtimeMs >= since - 1000)
    .sort((a, b) => statSync(b).mtimeMs - statSync(a).mtimeMs);
  return candidates[0];
}

/**
 * Self time per function from a V8 .cpuprofile: each sample's time delta goes to the node it hit;
 * nodes are grouped by function name, file and line, so one function called from many places is
 * one entry. `(idle)` (the event loop waiting) is counted in the total but listed apart.
 */
export function summariseProfile(stage: string, file: string, top = 12): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  const selfUs = new Map<number, number>();
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i += 1) {
    // a sample's delta is the time since the previous sample: charge it to the next sample's node, as DevTools does
    const id = samples[i] as number;
    const delta = deltas[i + 1] ?? 0;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, delta));
  }
  const grouped = new Map<string, { function: string; url: string; selfUs: number }>();
  let totalUs = 0;
  let idleUs = 0;
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node) continue;
    const name = node.callFrame.functionName || '(anonymous)';
    totalUs += us;
    if (name === '(idle)') {
      idleUs += us;
      continue;
    }
    const url = shortUrl(node.callFrame.url);
    const key = `${name}\u0000${url}\u0000${node.callFrame.lineNumber}`;
    const entry = grouped.get(key) ?? { function: name, url: url ? `${url}:${node.callFrame.lineNumber + 1}` : '', selfUs: 0 };
    entry.selfUs += us;
    grouped.set(key, entry);
  }
  const busyUs = totalUs - idleUs;
  const entries = [...grouped.values()].sort((a, b) => b.selfUs - a.selfUs).slice(0, top);
  // the same self time by where the code lives: one line per package or source file
  const byModule = new Map<string, number>();
  for (const e of grouped.values()) {
    const where = moduleOf(e.url, e.function);
    byModule.set(where, (byModule.get(where) ?? 0) + e.selfUs);
  }
  return {
    stage,
    file: path.relative(projectRoot, file),
    totalMs: busyUs / 1000,
    top: entries.map((e) => ({ function: e.function, url: e.url, selfMs: e.selfUs / 1000, selfPercent: busyUs > 0 ? (100 * e.selfUs) / busyUs : 0 })),
    modules: [...byModule.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 10)
      .map(([module, us]) => ({ module, selfMs: us / 1000, selfPercent: busyUs > 0 ? (100 * us) / busyUs : 0 })),
  };
}

/** node_modules/<package>, a Tally source file, node:<builtin>, or the V8 pseudo-frame itself ((garbage collector), (program)) */
function moduleOf(url: string, name: string): string {
  if (!url) return name.startsWith('(') ? name : '(native)';
  const file = url.replace(/:\d+$/, '');
  if (file.startsWith('node_modules/')) {
    const parts = file.split('/');
    return parts.slice(0, parts[1]?.startsWith('@') ? 3 : 2).join('/');
  }
  if (file.startsWith('node:')) return 'node: (built-in modules)';
  return file;
}

function shortUrl(url: string): string {
  if (!url) return '';
  const clean = url.replace(/^file:\/\//, '');
  const nm = clean.lastIndexOf('/node_modules/');
  if (nm >= 0) return clean.slice(nm + 1);
  const dist = clean.indexOf('/dist/');
  if (dist >= 0) return clean.slice(dist + 6);
  if (clean.startsWith('node:')) return clean;
  return clean;
}
