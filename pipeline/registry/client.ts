import { readFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { TallyError, messageOf, type ErrorCode } from '../errors.js';

/** Where a Confluent-compatible schema registry answers (Confluent's, Apicurio's /apis/ccompat/v7, Karapace) and how to log in. */
export interface RegistryConnection {
  url: string;
  username?: string;
  password?: string;
  passwordFile?: string;
  caFile?: string;
  requestTimeoutMs?: number;
}

export interface CompatibilityVerdict {
  compatible: boolean;
  /** the registry's reasons when it gives them (Confluent: `messages` with verbose=true) */
  messages: string[];
}

interface RegistryErrorBody {
  error_code?: number;
  message?: string;
}

const mediaType = 'application/vnd.schemaregistry.v1+json';
const certificateProblem = /self[- ]signed certificate|unable to verify the first certificate|unable to get (local )?issuer certificate|certificate has expired|ERR_TLS_CERT_ALTNAME_INVALID/i;

/** The Confluent Schema Registry REST API, the part Tally uses: register, look up, fetch by id, compatibility. */
export class RegistryClient {
  private readonly base: URL;
  private readonly authorization: string | undefined;
  private readonly ca: Buffer | undefined;
  private readonly timeoutMs: number;

  constructor(private readonly connection: RegistryConnection) {
    this.base = new URL(connection.url.endsWith('/') ? connection.url : `${connection.url}/`);
    const password = connection.passwordFile ? readSecret(connection.passwordFile) : connection.password;
    this.authorization = connection.username ? `Basic ${Buffer.from(`${connection.username}:${password ?? ''}`).toString('base64')}` : undefined;
    this.ca = connection.caFile ? readFileSync(connection.caFile) : undefined;
    this.timeoutMs = connection.requestTimeoutMs ?? 10_000;
  }

  get url(): string {
    return this.connection.url;
  }

  /** Register the schema under the subject (or find it registered already); its global id. */
  async register(subject: string, schema: string): Promise<number> {
    const body = await this.request<{ id: number }>('POST', `subjects/${encodeURIComponent(subject)}/versions`, subject, { schema, schemaType: 'AVRO' });
    return body.id;
  }

  /** The schema text a global id stands for. */
  async schemaById(id: number): Promise<string> {
    return (await this.request<{ schema: string }>('GET', `schemas/ids/${id}`, `schema id ${id}`)).schema;
  }

  /** Every schema registered under the subject, oldest first (none when the subject does not exist). */
  async versions(subject: string): Promise<string[]> {
    let numbers: number[];
    try {
      numbers = await this.request<number[]>('GET', `subjects/${encodeURIComponent(subject)}/versions`, subject);
    } catch (error) {
      if (error instanceof TallyError && error.code === 'REGISTRY_NOT_FOUND') return [];
      throw error;
    }
    const schemas: string[] = [];
    for (const version of [...numbers].sort((a, b) => a - b)) schemas.push((await this.request<{ schema: string }>('GET', `subjects/${encodeURIComponent(subject)}/versions/${version}`, subject)).schema);
    return schemas;
  }

  /** Whether the schema may be registered under the subject at its compatibility level (compatible when the subject does not exist yet). */
  async checkCompatibility(subject: string, schema: string): Promise<CompatibilityVerdict> {
    try {
      const verdict = await this.request<{ is_compatible: boolean; messages?: string[] }>('POST', `compatibility/subjects/${encodeURIComponent(subject)}/versions/latest?verbose=true`, subject, { schema, schemaType: 'AVRO' });
      return { compatible: verdict.is_compatible, messages: verdict.messages ?? [] };
    } catch (error) {
      if (error instanceof TallyError && error.code === 'REGISTRY_NOT_FOUND') return { compatible: true, messages: [] };
      throw error;
    }
  }

  private request<T>(method: string, relative: string, about: string, body?: unknown): Promise<T> {
    const url = new URL(relative, this.base);
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const transport = url.protocol === 'https:' ? https : http;
    const where = `schema registry ${this.connection.url} (${about})`;
    return new Promise<T>((resolve, reject) => {
      const request = transport.request(
        url,
        {
          method,
          headers: { accept: mediaType, ...(payload ? { 'content-type': mediaType, 'content-length': Buffer.byteLength(payload) } : {}), ...(this.authorization ? { authorization: this.authorization } : {}) },
          ...(this.ca ? { ca: this.ca } : {}),
          timeout: this.timeoutMs,
        },
        (response) => {
          const chunks: Buffer[] = [];
          response.on('data', (chunk: Buffer) => chunks.push(chunk));
          response.on('error', (error) => reject(unreachable(where, error)));
          response.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = response.statusCode ?? 0;
            if (status >= 200 && status < 300) {
              try {
                resolve((text ? JSON.parse(text) : {}) as T);
              } catch (error) {
                reject(new TallyError('REGISTRY_UNREACHABLE', `${where} answered ${status} with a body that is not JSON: ${text.slice(0, 200)}`, { cause: error }));
              }
              return;
            }
            reject(refusal(where, method, url.pathname, status, text));
          });
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      request.on('error', (error) => reject(certificateProblem.test(error.message) ? tlsRefused(where, this.connection.caFile, error) : unreachable(where, error)));
      request.end(payload);
    });
  }
}

function readSecret(file: string): string {
  try {
    return readFileSync(file, 'utf8').trim();
  } catch (error) {
    throw new TallyError('CONFIG_UNREADABLE', `cannot read registry.passwordFile ${file}: ${(error as NodeJS.ErrnoException).code ?? messageOf(error)}`, { cause: error });
  }
}

function unreachable(where: string, error: Error): TallyError {
  return new TallyError('REGISTRY_UNREACHABLE', `${where} is unreachable: ${error.message}`, { cause: error });
}

function tlsRefused(where: string, caFile: string | undefined, error: Error): TallyError {
  const advice = caFile ? `registry.caFile ${caFile} is not the CA that signed it` : 'set registry.caFile to the CA that signed it';
  return new TallyError('REGISTRY_TLS', `TLS handshake with the ${where} failed: its certificate is not trusted (${error.message}): ${advice}`, { cause: error });
}

function refusal(where: string, method: string, path: string, status: number, text: string): TallyError {
  let parsed: RegistryErrorBody = {};
  try {
    parsed = JSON.parse(text) as RegistryErrorBody;
  } catch {
    /* not JSON: the status and the text say it */
  }
  const reason = parsed.message ?? (text.slice(0, 300) || `HTTP ${status}`);
  const code: ErrorCode = status === 401 || status === 403 ? 'REGISTRY_AUTH' : status === 404 ? 'REGISTRY_NOT_FOUND' : status === 409 ? 'REGISTRY_INCOMPATIBLE' : status === 422 ? 'REGISTRY_SCHEMA_INVALID' : status >= 500 || status === 429 || status === 408 ? 'REGISTRY_UNREACHABLE' : 'REGISTRY_SCHEMA_INVALID';
  const what = code === 'REGISTRY_AUTH' ? 'refused the credentials (registry.username / password / passwordFile)' : `answered ${status}${parsed.error_code ? ` (error ${parsed.error_code})` : ''}`;
  return new TallyError(code, `${where}: ${method} ${path} ${what}: ${reason}`, { details: { status, ...(parsed.error_code ? { errorCode: parsed.error_code } : {}) } });
}
