// Both shells forbid inline styles by CSP (style-src 'self'), but xterm.js writes its theme and cell
// sizes into <style> elements it creates, and colours of some cells with setAttribute('style'). CSP
// does not govern the CSSOM, so: a <style> created from script is an inert <template> whose
// textContent fills an adopted CSSStyleSheet (CSP checks even an empty <style> when it is inserted,
// and a template's content is never applied), and setAttribute('style', text) becomes
// element.style.cssText = text. Same rules, no CSP violation, no 'unsafe-inline'. Sheets of elements
// no longer in the page are dropped by pruneDetachedStyles() (called when a terminal pane closes).

const redirected = new Map<CSSStyleSheet, WeakRef<HTMLElement>>();
let installed = false;

export function routeScriptStylesToSheets(doc: Document = document): void {
  if (installed || typeof CSSStyleSheet === 'undefined' || !('adoptedStyleSheets' in doc)) return;
  installed = true;
  const setAttribute = Element.prototype.setAttribute;
  Element.prototype.setAttribute = function (this: Element, name: string, value: string) {
    if (name.toLowerCase() === 'style' && this instanceof HTMLElement) this.style.cssText = String(value);
    else setAttribute.call(this, name, value);
  };
  const createElement = doc.createElement;
  doc.createElement = function (this: Document, tagName: string, options?: ElementCreationOptions) {
    if (tagName.toLowerCase() !== 'style') return createElement.call(this, tagName, options);
    const stand = createElement.call(this, 'template', options) as HTMLTemplateElement;
    redirect(doc, stand);
    return stand;
  } as Document['createElement'];
}

function redirect(doc: Document, element: HTMLElement): void {
  const sheet = new CSSStyleSheet();
  let text = '';
  redirected.set(sheet, new WeakRef(element));
  doc.adoptedStyleSheets = [...doc.adoptedStyleSheets, sheet];
  Object.defineProperty(element, 'textContent', {
    configurable: true,
    get: () => text,
    set: (value: string | null) => {
      text = value ?? '';
      sheet.replaceSync(text);
    },
  });
}

export function pruneDetachedStyles(doc: Document = document): void {
  const gone = new Set<CSSStyleSheet>();
  for (const [sheet, ref] of redirected) {
    if (!ref.deref()?.isConnected) gone.add(sheet);
  }
  if (gone.size === 0) return;
  for (const sheet of gone) redirected.delete(sheet);
  doc.adoptedStyleSheets = doc.adoptedStyleSheets.filter((s) => !gone.has(s));
}
