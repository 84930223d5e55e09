// Defence in depth: the server already sanitises article HTML, but the overlay runs inside pages
// we do not trust and talks to a server the user may point anywhere, so it rebuilds the article
// from an allowlist and never hands markup to the live document's parser.
(() => {
  const ns = (globalThis.DeclutterReader = globalThis.DeclutterReader || {});
  if (ns.sanitize) return;

  const ALLOWED = new Set([
    "a", "abbr", "article", "b", "bdi", "bdo", "blockquote", "br", "caption", "cite", "code",
    "col", "colgroup", "dd", "del", "details", "dfn", "div", "dl", "dt", "em", "figcaption",
    "figure", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i", "img", "ins", "kbd", "li", "mark",
    "ol", "p", "pre", "q", "rp", "rt", "ruby", "s", "samp", "section", "small", "span", "strong",
    "sub", "summary", "sup", "table", "tbody", "td", "tfoot", "th", "thead", "time", "tr", "u",
    "ul", "var", "wbr",
  ]);
  // Dropped with everything inside: executable, interactive or embedding elements.
  const DROPPED = new Set([
    "applet", "audio", "base", "button", "canvas", "embed", "form", "frame", "frameset", "head",
    "iframe", "input", "link", "math", "meta", "noembed", "noframes", "noscript", "object",
    "option", "script", "select", "style", "svg", "template", "textarea", "title", "video",
  ]);
  const ATTRIBUTES = {
    "*": ["title", "lang", "dir"],
    a: ["href"],
    img: ["src", "alt", "width", "height"],
    blockquote: ["cite"],
    q: ["cite"],
    del: ["cite", "datetime"],
    ins: ["cite", "datetime"],
    time: ["datetime"],
    td: ["colspan", "rowspan"],
    th: ["colspan", "rowspan", "scope"],
    ol: ["start", "reversed", "type"],
    li: ["value"],
    abbr: ["title"],
  };
  const URL_ATTRIBUTES = new Set(["href", "src", "cite"]);
  const LINK_SCHEMES = new Set(["http:", "https:", "mailto:"]);
  const IMAGE_SCHEMES = new Set(["http:", "https:"]);
  const MAX_DEPTH = 64;

  /** An absolute http(s)/mailto URL, or null for anything else (javascript:, data:, ...). */
  function safeUrl(value, base, schemes) {
    let url;
    try {
      url = new URL(String(value).trim(), base || undefined);
    } catch {
      return null;
    }
    return schemes.has(url.protocol) ? url.href : null;
  }

  function copyAttributes(source, target, tag, base) {
    const allowed = new Set([...(ATTRIBUTES["*"]), ...(ATTRIBUTES[tag] || [])]);
    for (const { name, value } of Array.from(source.attributes)) {
      const key = name.toLowerCase();
      if (!allowed.has(key)) continue;
      if (URL_ATTRIBUTES.has(key)) {
        const safe = safeUrl(value, base, key === "src" ? IMAGE_SCHEMES : LINK_SCHEMES);
        if (safe) target.setAttribute(key, safe);
      } else {
        target.setAttribute(key, value);
      }
    }
    if (tag === "a") {
      if (target.hasAttribute("href")) {
        target.setAttribute("target", "_blank");
        target.setAttribute("rel", "noopener noreferrer");
      }
    }
    if (tag === "img") {
      if (!target.hasAttribute("src")) return false;
      target.setAttribute("loading", "lazy");
      target.setAttribute("decoding", "async");
      target.setAttribute("referrerpolicy", "no-referrer");
      if (!target.hasAttribute("alt")) target.setAttribute("alt", "");
    }
    return true;
  }

  function copyChildren(source, parent, doc, base, depth) {
    for (const node of Array.from(source.childNodes)) {
      if (node.nodeType === Node.TEXT_NODE) {
        parent.appendChild(doc.createTextNode(node.data));
        continue;
      }
      if (node.nodeType !== Node.ELEMENT_NODE) continue;
      const tag = node.localName.toLowerCase();
      if (DROPPED.has(tag) || node.namespaceURI !== "http://www.w3.org/1999/xhtml") continue;
      if (depth >= MAX_DEPTH || !ALLOWED.has(tag)) {
        copyChildren(node, parent, doc, base, depth + 1);
        continue;
      }
      const element = doc.createElement(tag);
      if (!copyAttributes(node, element, tag, base)) continue;
      copyChildren(node, element, doc, base, depth + 1);
      parent.appendChild(element);
    }
  }

  /**
   * Rebuild `html` as a fragment owned by `doc`, keeping only allowlisted elements and attributes.
   * The markup is parsed by DOMParser into an inert document (no scripts run, nothing loads).
   */
  ns.sanitize = function sanitize(html, base, doc = document) {
    const parsed = new DOMParser().parseFromString(String(html || ""), "text/html");
    const fragment = doc.createDocumentFragment();
    copyChildren(parsed.body, fragment, doc, base, 0);
    return fragment;
  };

  ns.safeUrl = (value, base) => safeUrl(value, base, LINK_SCHEMES);
})();
