export interface VoParts {
  vo: string | null;
  vo_group: string | null;
  vo_role: string | null;
}

const none: VoParts = { vo: null, vo_group: null, vo_role: null };

/**
 * VO, group and role from an FQAN, the way APEL's parse_fqan reads it: only the first FQAN of a
 * `;`-separated list; `/vo/group/sub/Role=r/Capability=c` gives vo, `/vo/group/sub`, `Role=r`
 * (role matched in any case); a string not starting with `/` is the VO itself. Where APEL writes
 * the text 'None' this gives null.
 */
export function parseFqan(fqan: string | null | undefined): VoParts {
  if (fqan === null || fqan === undefined) return none;
  const first = fqan.split(';')[0] as string;
  if (!first.startsWith('/')) return { vo: first === '' ? null : first, vo_group: null, vo_role: null };
  const pieces = first.split('/');
  let group = '';
  let role: string | null = null;
  for (const piece of pieces) {
    if (piece === '') continue;
    if (piece.toLowerCase().startsWith('role=')) {
      role = piece;
      break;
    }
    group += `/${piece}`;
  }
  const vo = pieces[1] ?? '';
  return { vo: vo === '' ? null : vo, vo_group: group === '' ? null : group, vo_role: role };
}
