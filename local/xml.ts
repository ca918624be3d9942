/**
 * The little XML the local platform's stand-ins read and write (cloudfront/, rds/): request bodies are read
 * into a tree of elements, answers are written from plain objects, text is escaped.
 *
 * Where the real thing differs: this reads the XML an AWS SDK or the aws CLI sends (elements, text, the
 * five named entities and numeric ones, CDATA, comments, a prolog; attributes are skipped), not every XML
 * document (no DTD, no namespaces beyond ignoring `xmlns`); anything else it refuses as not well-formed.
 */

/** One element of a parsed document: its name, its child elements and its text (entities decoded). */
export interface XmlElement {
  readonly name: string;
  readonly children: readonly XmlElement[];
  readonly text: string;
}

/** A document that is not XML this reader understands. */
export class MalformedXml extends Error {
  constructor(reason: string) {
    super(`The XML you provided was not well-formed: ${reason}`);
    this.name = 'MalformedXml';
  }
}

/** An element name, matched where the reader stands (sticky). */
const NAME = /[A-Za-z_][\w.-]*(?::[A-Za-z_][\w.-]*)?/y;
/** Deeper than any CloudFront request: a document nested further is refused, not recursed into. */
const MAX_DEPTH = 32;

/** The document's root element. */
export function parseXml(document: string): XmlElement {
  const reader = { text: document, at: 0 };
  skipMisc(reader);
  const root = readElement(reader, 1);
  skipMisc(reader);
  if (reader.at < document.length) throw new MalformedXml('content after the root element');
  return root;
}

/** The first child element named `name`. */
export function childOf(element: XmlElement, name: string): XmlElement | undefined {
  return element.children.find((child) => child.name === name);
}

/** The text of the first child element named `name`, or undefined when there is none. */
export function textOf(element: XmlElement, name: string): string | undefined {
  return childOf(element, name)?.text;
}

interface Reader {
  readonly text: string;
  at: number;
}

/** Whitespace, the prolog, comments and processing instructions outside the root element. */
function skipMisc(reader: Reader): void {
  for (;;) {
    while (/\s/.test(reader.text[reader.at] ?? '')) reader.at += 1;
    if (reader.text.startsWith('<?', reader.at)) skipPast(reader, '?>');
    else if (reader.text.startsWith('<!--', reader.at)) skipPast(reader, '-->');
    else return;
  }
}

function skipPast(reader: Reader, end: string): void {
  const found = reader.text.indexOf(end, reader.at);
  if (found < 0) throw new MalformedXml(`unclosed ${end}`);
  reader.at = found + end.length;
}

function readElement(reader: Reader, depth: number): XmlElement {
  if (depth > MAX_DEPTH) throw new MalformedXml(`elements nested deeper than ${MAX_DEPTH}`);
  if (reader.text[reader.at] !== '<') throw new MalformedXml('expected an element');
  NAME.lastIndex = reader.at + 1;
  const name = NAME.exec(reader.text)?.[0];
  if (!name) throw new MalformedXml('an element without a name');
  reader.at += 1 + name.length;
  const tagEnd = reader.text.indexOf('>', reader.at);
  if (tagEnd < 0) throw new MalformedXml(`unclosed tag <${name}>`);
  const selfClosing = reader.text[tagEnd - 1] === '/';
  reader.at = tagEnd + 1;
  if (selfClosing) return { name: localName(name), children: [], text: '' };
  const children: XmlElement[] = [];
  let text = '';
  for (;;) {
    const next = reader.text.indexOf('<', reader.at);
    if (next < 0) throw new MalformedXml(`unclosed element <${name}>`);
    text += decodeEntities(reader.text.slice(reader.at, next));
    reader.at = next;
    if (closes(reader, name)) {
      skipPast(reader, '>');
      return { name: localName(name), children, text };
    }
    if (reader.text.startsWith('<![CDATA[', reader.at)) {
      const end = reader.text.indexOf(']]>', reader.at);
      if (end < 0) throw new MalformedXml('unclosed CDATA section');
      text += reader.text.slice(reader.at + '<![CDATA['.length, end);
      reader.at = end + ']]>'.length;
    } else if (reader.text.startsWith('<!--', reader.at) || reader.text.startsWith('<?', reader.at)) {
      skipMisc(reader);
    } else if (reader.text.startsWith('</', reader.at)) {
      throw new MalformedXml(`<${name}> closed by another element`);
    } else {
      children.push(readElement(reader, depth + 1));
    }
  }
}

/** Whether the reader is at `</name>` (spaces allowed before the `>`). */
function closes(reader: Reader, name: string): boolean {
  const end = reader.at + 2 + name.length;
  return reader.text.startsWith(`</${name}`, reader.at) && /[\s>]/.test(reader.text[end] ?? '');
}

/** `cf:Name` -> `Name`: namespaces are not told apart. */
function localName(name: string): string {
  return name.slice(name.indexOf(':') + 1);
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeEntities(text: string): string {
  return text.replace(/&(#x[0-9a-fA-F]+|#\d+|\w+);/g, (whole, entity: string) => {
    if (entity.startsWith('#')) {
      const code = entity.startsWith('#x') ? parseInt(entity.slice(2), 16) : parseInt(entity.slice(1), 10);
      if (code > 0x10ffff) throw new MalformedXml(`no such character ${whole}`);
      return String.fromCodePoint(code);
    }
    const named = ENTITIES[entity];
    if (named === undefined) throw new MalformedXml(`unknown entity ${whole}`);
    return named;
  });
}

/**
 * What an answer is written from: a value is an element's text; an object, its child elements in order; an
 * array, the same element repeated once per item (so a list is `{ member: [...] }` under the list's name).
 * Undefined fields are left out.
 */
type XmlValue = string | number | boolean | undefined | XmlObject | readonly XmlValue[];
export interface XmlObject {
  readonly [name: string]: XmlValue;
}

/** A whole answer: the prolog and `root` in `namespace`, holding `content`. */
export function xmlDocument(root: string, namespace: string, content: XmlObject): string {
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<${root} xmlns="${namespace}">${childrenXml(content)}</${root}>`
  );
}

function childrenXml(content: XmlObject): string {
  return Object.entries(content)
    .map(([name, value]) => elementXml(name, value))
    .join('');
}

function elementXml(name: string, value: XmlValue): string {
  if (value === undefined) return '';
  if (Array.isArray(value)) return value.map((item: XmlValue) => elementXml(name, item)).join('');
  if (typeof value === 'object') return `<${name}>${childrenXml(value as XmlObject)}</${name}>`;
  return `<${name}>${escapeXml(String(value))}</${name}>`;
}

/** Text as XML element content or an attribute value. */
export function escapeXml(text: string): string {
  return text.replace(/[<>&'"]/g, (c) => `&#${c.charCodeAt(0)};`);
}
