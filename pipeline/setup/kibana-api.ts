import type { TallyConfig } from '../config/types.js';
import { TallyError, messageOf } from '../errors.js';
import { authorizationHeader, credentialsMethod } from '../http-credentials.js';
import type { SavedObjectLine, SavedObjectsFile } from './kibana.js';

/** Where Kibana is and how Tally authenticates to it. */
export interface KibanaAccess {
  url: string;
  headers: Record<string, string>;
  /** how the credentials were given (settings and files, never the secret), for KIBANA_AUTH */
  method: string;
  timeoutMs: number;
}

/** kibana.auth when set, else the elasticsearch credentials (a Kibana behind the same security realm). */
export function kibanaAccess(config: TallyConfig, url: string): KibanaAccess {
  const [credentials, section] = config.kibana.auth ? [config.kibana.auth, 'kibana.auth'] : [config.elasticsearch, 'elasticsearch'];
  return { url: url.replace(/\/+$/, ''), headers: authorizationHeader(credentials, section), method: credentialsMethod(credentials, section), timeoutMs: config.kibana.requestTimeoutMs };
}

interface Answer {
  status: number;
  text: string;
  json: unknown;
}

const reasonOf = (answer: Answer): string => {
  const body = answer.json as { error?: string; message?: string } | undefined;
  return (body?.message ?? body?.error ?? answer.text).slice(0, 500) || 'no body';
};

/** One request; unreachable, not ready (502–504) and refused credentials (401, 403) are thrown here, any other answer returned. */
async function request(access: KibanaAccess, path: string, init: { method: string; body?: FormData }, what: string): Promise<Answer> {
  let response: Response;
  try {
    response = await fetch(`${access.url}${path}`, { ...init, headers: { 'kbn-xsrf': 'tally', ...access.headers }, signal: AbortSignal.timeout(access.timeoutMs) });
  } catch (error) {
    const cause = messageOf((error as { cause?: unknown }).cause ?? error);
    const hint = /certificate/i.test(cause) ? " (Kibana's certificate is not trusted: point NODE_EXTRA_CA_CERTS at the CA that signed it)" : '';
    throw new TallyError('KIBANA_UNREACHABLE', `${what}: Kibana at ${access.url} is unreachable: ${cause}${hint}`, { cause: error, details: { url: access.url } });
  }
  const text = await response.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const answer = { status: response.status, text, json };
  if (answer.status === 401 || answer.status === 403) {
    const refusal = answer.status === 401 ? 'refused the credentials' : 'accepted the credentials but denies this request (the user lacks a Kibana privilege: see "Kibana" in the README)';
    throw new TallyError('KIBANA_AUTH', `${what}: Kibana at ${access.url} ${refusal}, ${access.method} (${answer.status} ${reasonOf(answer)})`, { details: { url: access.url, status: answer.status } });
  }
  if (answer.status === 502 || answer.status === 503 || answer.status === 504) {
    throw new TallyError('KIBANA_UNREACHABLE', `${what}: Kibana at ${access.url} is not ready, or a proxy in front of it failed (${answer.status} ${reasonOf(answer)})`, { details: { url: access.url, status: answer.status } });
  }
  return answer;
}

const versionParts = (version: string): number[] | undefined => /^(\d+)\.(\d+)\.(\d+)/.exec(version)?.slice(1).map(Number);

function compareVersions(a: number[], b: number[]): number {
  for (let i = 0; i < 3; i += 1) if ((a[i] ?? 0) !== (b[i] ?? 0)) return (a[i] ?? 0) - (b[i] ?? 0);
  return 0;
}

/**
 * The oldest Kibana that accepts every object: the highest coreMigrationVersion or typeMigrationVersion
 * they carry (Kibana refuses an object whose type migration is newer than its own, and then the whole request).
 */
export function requiredKibanaVersion(objects: SavedObjectLine[]): string {
  const versions = objects.flatMap((o) => [o.coreMigrationVersion, o.typeMigrationVersion]).filter((v): v is string => typeof v === 'string' && versionParts(v) !== undefined);
  return versions.reduce((highest, v) => (compareVersions(versionParts(v) as number[], versionParts(highest) as number[]) > 0 ? v : highest), '0.0.0');
}

/** GET /api/status: Kibana's version, or KIBANA_VERSION when it is older than `required` or does not say. */
export async function checkKibanaVersion(access: KibanaAccess, required: string): Promise<string> {
  const answer = await request(access, '/api/status', { method: 'GET' }, 'the version check (GET /api/status)');
  const version = (answer.json as { version?: { number?: unknown } } | undefined)?.version?.number;
  const parts = typeof version === 'string' ? versionParts(version) : undefined;
  if (answer.status !== 200 || typeof version !== 'string' || !parts) {
    throw new TallyError('KIBANA_VERSION', `Kibana at ${access.url} did not say its version (GET /api/status answered ${answer.status}: ${reasonOf(answer)}); the saved objects need Kibana ${required} or later: check that the URL is Kibana's`, { details: { url: access.url, status: answer.status } });
  }
  if (compareVersions(parts, versionParts(required) as number[]) < 0) {
    throw new TallyError(
      'KIBANA_VERSION',
      `Kibana at ${access.url} is ${version}; the saved objects in schemas/kibana need ${required} or later (a Kibana older than an object's migration version refuses the whole import): upgrade Kibana, nothing was imported`,
      { details: { url: access.url, version, required } },
    );
  }
  return version;
}

type ObjectRef = { type: string; id: string; title?: string };

interface ImportResponse {
  success?: boolean;
  successCount?: number;
  successResults?: { type: string; id: string; meta?: { title?: string } }[];
  errors?: { type: string; id: string; title?: string; meta?: { title?: string }; error?: { type?: string; message?: string; statusCode?: number; references?: { type: string; id: string }[] } }[];
}

export interface KibanaImport {
  successCount: number;
  created: ObjectRef[];
}

const named = (o: ObjectRef): string => `${o.type} ${o.id}${o.title ? ` "${o.title}"` : ''}`;

/** What Kibana created and what not, each failure with its type, message and missing references. */
function describePartialImport(access: KibanaAccess, file: SavedObjectsFile, body: ImportResponse): string {
  const titleOf = (type: string, id: string): string | undefined => {
    const title = file.objects.find((o) => o.type === type && o.id === id)?.attributes.title;
    return typeof title === 'string' ? title : undefined;
  };
  const created = (body.successResults ?? []).map((r) => ({ type: r.type, id: r.id, title: r.meta?.title ?? titleOf(r.type, r.id) }));
  const failed = (body.errors ?? []).map((e) => {
    const error = e.error ?? {};
    const missing = error.references?.length ? ` (missing ${error.references.map((r) => `${r.type} ${r.id}`).join(', ')})` : '';
    return `  ${named({ type: e.type, id: e.id, title: e.title ?? e.meta?.title ?? titleOf(e.type, e.id) })}: ${error.type ?? 'error'}${error.message ? `: ${error.message}` : ''}${missing}`;
  });
  const reported = new Set([...created, ...(body.errors ?? [])].map((o) => `${o.type}/${o.id}`));
  const unreported = body.successResults ? file.objects.filter((o) => !reported.has(`${o.type}/${o.id}`)).map((o) => `  ${named({ type: o.type, id: o.id, title: titleOf(o.type, o.id) })}: not reported by Kibana`) : [];
  const count = body.successCount ?? created.length;
  const createdList = body.successResults ? (created.length ? created.map(named).join(', ') : 'none') : `${count} (Kibana did not list which)`;
  return [
    `Kibana at ${access.url} created ${count} of the ${file.objects.length} saved objects in ${file.fileName} (successCount ${count}); ${failed.length + unreported.length} not created:`,
    ...failed,
    ...unreported,
    `created: ${createdList}`,
  ].join('\n');
}

/**
 * POST <kibana>[/s/<space>]/api/saved_objects/_import?overwrite=true, the NDJSON as the multipart
 * field `file` (Kibana refuses a file name that does not end in .ndjson), with kbn-xsrf. Kibana
 * creates the objects it can even when others fail, so `success: false` may leave some created:
 * the error says which.
 */
export async function importSavedObjects(access: KibanaAccess, file: SavedObjectsFile, space?: string): Promise<KibanaImport> {
  const form = new FormData();
  form.append('file', new Blob([file.ndjson], { type: 'application/ndjson' }), file.fileName);
  const what = `the saved objects import of ${file.fileName}`;
  const answer = await request(access, `${space ? `/s/${encodeURIComponent(space)}` : ''}/api/saved_objects/_import?overwrite=true`, { method: 'POST', body: form }, what);
  if (answer.status >= 500) {
    throw new TallyError(
      'KIBANA_IMPORT',
      `${what}: Kibana at ${access.url} failed inside (${answer.status} ${reasonOf(answer)}). This is permanent, running tally setup again meets the same error: Kibana's own log has the cause at this time (often a saved-object migration that threw)`,
      { details: { url: access.url, status: answer.status, file: file.fileName } },
    );
  }
  if (answer.status !== 200) {
    throw new TallyError('KIBANA_IMPORT', `${what}: Kibana at ${access.url} refused it (${answer.status} ${reasonOf(answer)}); nothing was imported`, { details: { url: access.url, status: answer.status, file: file.fileName } });
  }
  const body = answer.json as ImportResponse | undefined;
  if (typeof body !== 'object' || body === null) throw new TallyError('KIBANA_IMPORT', `${what}: Kibana at ${access.url} answered 200 with a body that is not JSON: ${answer.text.slice(0, 200)}`);
  if (body.success !== true) {
    throw new TallyError('KIBANA_IMPORT', describePartialImport(access, file, body), { details: { url: access.url, file: file.fileName, successCount: body.successCount ?? 0, errors: body.errors ?? [] } });
  }
  return {
    successCount: body.successCount ?? 0,
    created: (body.successResults ?? []).map((r) => ({ type: r.type, id: r.id, ...(r.meta?.title ? { title: r.meta.title } : {}) })),
  };
}
