import { readSecretFile } from './bus/security.js';

/** A user and password, or an API key, each from the configuration or a file: the shape of `elasticsearch` and `kibana.auth`. */
export interface HttpCredentials {
  username?: string;
  password?: string;
  passwordFile?: string;
  apiKey?: string;
  apiKeyFile?: string;
}

/** `kibana.auth` → TALLY_KIBANA__AUTH__<KEY>, the environment variable that sets `<section>.<key>`. */
const envName = (section: string, key: string): string => `TALLY_${[...section.split('.'), key].map((part) => part.replace(/([a-z])([A-Z])/g, '$1_$2').toUpperCase()).join('__')}`;

/** The API key (the file wins over the setting); `section` names the settings in an error (elasticsearch, kibana.auth). */
export function apiKeyOf(credentials: HttpCredentials, section: string): string | undefined {
  return credentials.apiKeyFile ? readSecretFile(credentials.apiKeyFile, `${section}.apiKeyFile`) : credentials.apiKey;
}

export function passwordOf(credentials: HttpCredentials, section: string): string {
  return credentials.passwordFile ? readSecretFile(credentials.passwordFile, `${section}.passwordFile`) : (credentials.password ?? '');
}

/** The Authorization header: `ApiKey <key>` when a key is set, else Basic for a user; none without credentials. */
export function authorizationHeader(credentials: HttpCredentials, section: string): Record<string, string> {
  const apiKey = apiKeyOf(credentials, section);
  if (apiKey) return { authorization: `ApiKey ${apiKey}` };
  if (credentials.username) return { authorization: `Basic ${Buffer.from(`${credentials.username}:${passwordOf(credentials, section)}`).toString('base64')}` };
  return {};
}

/** How these credentials authenticate, in words that name the settings and never the secret. */
export function credentialsMethod(credentials: HttpCredentials, section: string): string {
  if (credentials.apiKeyFile) return `API key from ${section}.apiKeyFile ${credentials.apiKeyFile}`;
  if (credentials.apiKey) return `API key from ${section}.apiKey (configuration file, --set or ${envName(section, 'apiKey')})`;
  if (credentials.username) {
    const from = credentials.passwordFile
      ? `${section}.passwordFile ${credentials.passwordFile}`
      : credentials.password !== undefined
        ? `${section}.password (configuration file, --set or ${envName(section, 'password')})`
        : 'no password set';
    return `user "${credentials.username}" with the password from ${from}`;
  }
  return `no credentials (set ${section}.username and password/passwordFile, or apiKey/apiKeyFile)`;
}
