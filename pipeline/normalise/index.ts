import { TallyError } from '../errors.js';
import { accountingNormaliser } from './accounting.js';
import { apelMessageNormaliser } from './apel-message.js';
import { casoJsonNormaliser } from './caso-json.js';
import { openstackAuditNormaliser } from './openstack-audit.js';
import { osloLogNormaliser } from './oslo-log.js';
import { rorAuditNormaliser } from './ror-audit.js';
import type { Normaliser } from './types.js';

/** Every kind Tally can normalise: one entry per kind (and its import above). */
const normalisers: readonly Normaliser[] = [
  accountingNormaliser,
  apelMessageNormaliser,
  casoJsonNormaliser,
  rorAuditNormaliser,
  openstackAuditNormaliser,
  osloLogNormaliser,
];

const byKind: ReadonlyMap<string, Normaliser> = new Map(normalisers.map((normaliser) => [normaliser.kind, normaliser]));

export const knownKinds: readonly string[] = [...byKind.keys()];

/** The normaliser of one kind; an unknown kind is a usage error naming the known ones. */
export function normaliserFor(kind: string): Normaliser {
  const normaliser = byKind.get(kind);
  if (!normaliser) throw new TallyError('USAGE', `unknown kind ${JSON.stringify(kind)}: known kinds are ${knownKinds.join(', ')}`, { details: { kind, knownKinds } });
  return normaliser;
}

/** The kinds whose normalisers write this logical domain topic. */
export function writersOf(topic: string): string[] {
  return normalisers.filter((normaliser) => normaliser.topics.includes(topic)).map((normaliser) => normaliser.kind);
}

export type { Normaliser, Normalised, NormalisedRecord, Rejection } from './types.js';
