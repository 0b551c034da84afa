/**
 * The context bracket and instance prefix after an oslo.log logger, in every shape releases and
 * deployments wrote:
 *
 *   [-]                                    no request context (logging_default_format_string)
 *   [req-R U P D UD PD]                    request id + 5-field identity (oslo.log < 4.8, ≤ Yoga)
 *   [None req-R U P D S UD PD]             no global id + 6-field identity (Zed and later)
 *   [req-G req-R U P D S UD PD]            global request id + 6 fields
 *   [None req-R - - - - -]                 global id in the format, 5-field identity
 *   [req-R U P]                            Havana and earlier: user and tenant ids
 *   [None req-R admin admin]               devstack: project name, user name
 *   [req-R None None], [req-R None]        Essex/Juno contexts printing Python None
 *   [G R - - -] with bare UUIDs            glance before it used req- ids
 *   [req-R greq-G U P D UD PD], [req-R gNone …]  SAP's charts: `[%(request_id)s g%(global_request_id)s …]`
 *
 * then an optional `[instance: UUID] `. `-` and `None` are empty; ids are kept as written.
 */

export interface OsloContext {
  requestId: string | null;
  globalRequestId: string | null;
  userId: string | null;
  userName: string | null;
  projectId: string | null;
  projectName: string | null;
  domainId: string | null;
  systemScope: string | null;
  userDomain: string | null;
  projectDomain: string | null;
  /** the identity tokens as written, when there were any */
  identity: string | null;
  instance: string | null;
  /** whether the line had a context bracket (`[-]` included): exception-prefix continuation lines have none */
  bracket: boolean;
  message: string;
}

const requestIdToken = /^(?:req-[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const idToken = /^(?:[0-9a-fA-F]{32}|[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})$/;
const instancePrefix = /^\[instance: ([0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12})\] ?/;
const maxBracket = 512;

const empty = (token: string | undefined): string | null => (token === undefined || token === '-' || token === 'None' || token === '' ? null : token);

export function parseContext(rest: string): OsloContext {
  const context: OsloContext = {
    requestId: null,
    globalRequestId: null,
    userId: null,
    userName: null,
    projectId: null,
    projectName: null,
    domainId: null,
    systemScope: null,
    userDomain: null,
    projectDomain: null,
    identity: null,
    instance: null,
    bracket: false,
    message: rest,
  };
  let after = rest;
  if (rest.startsWith('[') && !rest.startsWith('[instance: ')) {
    const close = rest.indexOf(']');
    if (close !== -1 && close <= maxBracket) {
      const tokens = rest.slice(1, close).split(/\s+/).filter((t) => t !== '');
      if (isContextBracket(tokens)) {
        context.bracket = true;
        readTokens(tokens, context);
        after = rest.slice(close + 1).replace(/^ /, '');
      }
    }
  }
  const instance = instancePrefix.exec(after);
  if (instance) {
    context.instance = instance[1] as string;
    after = after.slice(instance[0].length);
  }
  context.message = after;
  return context;
}

function isContextBracket(tokens: string[]): boolean {
  const first = tokens[0];
  if (first === undefined) return false;
  if (tokens.length === 1 && first === '-') return true;
  return first === 'None' || first === '-' || requestIdToken.test(first);
}

function readTokens(tokens: string[], context: OsloContext): void {
  if (tokens.length === 1 && tokens[0] === '-') return;
  const [first, second] = tokens as [string, string | undefined];
  let identity: string[];
  if (second !== undefined && /^g(?:None|req-)/.test(second) && requestIdToken.test(first)) {
    context.requestId = first;
    context.globalRequestId = empty(second.slice(1));
    identity = tokens.slice(2);
  } else if (second !== undefined && requestIdToken.test(second)) {
    context.globalRequestId = empty(first);
    context.requestId = second;
    identity = tokens.slice(2);
  } else {
    context.requestId = empty(first);
    identity = tokens.slice(1);
  }
  if (identity.length === 0) return;
  context.identity = identity.join(' ');
  const v = identity.map(empty);
  switch (identity.length) {
    case 6:
      [context.userId, context.projectId, context.domainId, context.systemScope, context.userDomain, context.projectDomain] = v as (string | null)[] as [string | null, string | null, string | null, string | null, string | null, string | null];
      break;
    case 5:
      [context.userId, context.projectId, context.domainId, context.userDomain, context.projectDomain] = v as [string | null, string | null, string | null, string | null, string | null];
      break;
    case 2:
      if (identity.every((t) => idToken.test(t) || empty(t) === null)) [context.userId, context.projectId] = v as [string | null, string | null];
      else [context.projectName, context.userName] = v as [string | null, string | null];
      break;
    default:
      break;
  }
}
