/**
 * Whether a queue element is whole. dirq writes without fsync, so a writer (cASO's SSM messenger)
 * killed or a host losing power can leave an element cut short under its final name. What cASO
 * and APEL write ends in a way a cut rarely keeps: key: value text with a newline, JSON as one
 * document, XML with its root's end tag. Returns why the element looks cut, or undefined. Pure.
 */
export function truncation(text: string): string | undefined {
  if (text.length === 0) return 'it is empty';
  const head = text.trimStart();
  if (head.length === 0) return 'it is only white space';
  if (head.startsWith('{') || head.startsWith('[')) {
    try {
      JSON.parse(text);
      return undefined;
    } catch (error) {
      return `its JSON does not end as a whole document (${(error as Error).message})`;
    }
  }
  if (head.startsWith('<')) {
    const root = /^(?:<\?xml[^>]*\?>\s*)?(?:<!--[\s\S]*?-->\s*)*<([A-Za-z_][\w:.-]*)/.exec(head)?.[1];
    if (root === undefined) return undefined;
    const tail = text.trimEnd();
    if (tail.endsWith(`</${root}>`)) return undefined;
    if (tail.endsWith('/>') && tail.indexOf('<', tail.indexOf(`<${root}`) + 1) === -1) return undefined; // a root with no children
    return `its XML does not end with the root element's end tag </${root}>`;
  }
  const apelText = head.startsWith('APEL-') || 'APEL-'.startsWith(head); // a cut inside the header too
  if (apelText && !text.endsWith('\n')) return `its text does not end with a newline (the last line reads ${JSON.stringify(text.slice(text.lastIndexOf('\n') + 1).slice(0, 80))})`;
  return undefined;
}
