// The reader overlay: a dialog in a closed shadow root laid over the page. The page's CSS cannot
// style it and the page's scripts cannot reach into it; closing removes the one host element the
// overlay added, so the page is left as it was.
(() => {
  const ns = (globalThis.DeclutterReader = globalThis.DeclutterReader || {});
  if (ns.Overlay) return;

  const FONT_SIZES = [14, 16, 18, 20, 22, 24, 28, 32];
  const WIDTHS = { narrow: "Narrow", medium: "Medium", wide: "Wide" };
  const THEMES = { system: "System", light: "Light", dark: "Dark", sepia: "Sepia" };
  const FONTS = { serif: "Serif", sans: "Sans-serif" };
  const DEFAULT_PREFS = Object.freeze({ fontSize: 20, width: "medium", theme: "system", font: "serif" });
  const FOCUSABLE = "a[href], button:not([disabled]), select:not([disabled]), [tabindex]:not([tabindex='-1'])";

  function h(doc, tag, attrs = {}, ...children) {
    const element = doc.createElement(tag);
    for (const [key, value] of Object.entries(attrs)) {
      if (value === false || value === null || value === undefined) continue;
      element.setAttribute(key, value === true ? "" : String(value));
    }
    for (const child of children) {
      if (child === null || child === undefined || child === false) continue;
      element.append(typeof child === "string" ? doc.createTextNode(child) : child);
    }
    return element;
  }

  function normalisePrefs(prefs) {
    const merged = { ...DEFAULT_PREFS, ...(prefs || {}) };
    if (!FONT_SIZES.includes(Number(merged.fontSize))) merged.fontSize = DEFAULT_PREFS.fontSize;
    merged.fontSize = Number(merged.fontSize);
    if (!Object.hasOwn(WIDTHS, merged.width)) merged.width = DEFAULT_PREFS.width;
    if (!Object.hasOwn(THEMES, merged.theme)) merged.theme = DEFAULT_PREFS.theme;
    if (!Object.hasOwn(FONTS, merged.font)) merged.font = DEFAULT_PREFS.font;
    return merged;
  }

  function formatDate(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return new Intl.DateTimeFormat(undefined, { dateStyle: "long" }).format(date);
  }

  function formatDateTime(value) {
    if (!value) return "";
    const date = new Date(value);
    if (Number.isNaN(date.getTime())) return String(value);
    return new Intl.DateTimeFormat(undefined, { dateStyle: "medium", timeStyle: "medium" }).format(date);
  }

  function select(doc, id, label, options, value) {
    const control = h(doc, "select", { id, name: id });
    for (const [key, text] of Object.entries(options)) {
      control.append(h(doc, "option", { value: key, selected: key === value }, text));
    }
    return h(doc, "label", { class: "control", for: id }, h(doc, "span", {}, label), control);
  }

  class Overlay {
    /**
     * `actions` are the controller's callbacks: close, prefs(prefs), save(), versions(),
     * openCapture(id), diff(a, b), options(), retry(), live().
     */
    constructor(actions, { css = "", prefs } = {}) {
      this.actions = actions;
      this.doc = document;
      this.prefs = normalisePrefs(prefs);
      this.host = null;
      this.root = null;
      this.previousFocus = null;
      this.scroll = null;
      this.css = css;
      this.onKeydown = this.onKeydown.bind(this);
      this.onFocusIn = this.onFocusIn.bind(this);
    }

    get isOpen() {
      return this.host !== null;
    }

    open() {
      const doc = this.doc;
      this.previousFocus = doc.activeElement;
      this.scroll = { x: window.scrollX, y: window.scrollY };
      this.host = doc.createElement("declutter-reader");
      this.host.setAttribute("data-state", "loading");
      this.root = this.host.attachShadow({ mode: "closed" });
      this.adoptStyles();
      this.build();
      this.applyPrefs();
      doc.documentElement.append(this.host);
      window.addEventListener("keydown", this.onKeydown, true);
      doc.addEventListener("focusin", this.onFocusIn, true);
      this.dialog.focus({ preventScroll: true });
    }

    /** A constructed sheet is immune to the page's CSP; a style element is the fallback where a
     * content script cannot hand one to the page's shadow root (Firefox's Xray wrappers). */
    adoptStyles() {
      try {
        const sheet = new CSSStyleSheet();
        sheet.replaceSync(this.css);
        this.root.adoptedStyleSheets = [sheet];
      } catch {
        const style = this.doc.createElement("style");
        style.textContent = this.css;
        this.root.append(style);
      }
    }

    close() {
      if (!this.host) return;
      window.removeEventListener("keydown", this.onKeydown, true);
      this.doc.removeEventListener("focusin", this.onFocusIn, true);
      this.host.remove();
      this.host = null;
      this.root = null;
      const previous = this.previousFocus;
      if (previous && previous.isConnected && typeof previous.focus === "function" && previous !== this.doc.body) {
        previous.focus({ preventScroll: true });
      }
      if (window.scrollX !== this.scroll.x || window.scrollY !== this.scroll.y) {
        window.scrollTo({ left: this.scroll.x, top: this.scroll.y, behavior: "instant" });
      }
    }

    build() {
      const doc = this.doc;
      const p = this.prefs;
      this.status = h(doc, "p", { class: "status", role: "status", "aria-live": "polite" });
      // What the live region announces, shown where a sighted reader looks; not itself live, so
      // it is not announced twice.
      this.toast = h(doc, "div", { class: "toast", hidden: true });
      this.saveButton = h(doc, "button", { type: "button", class: "save", "data-action": "save" }, "Save snapshot");
      this.versionsButton = h(
        doc, "button",
        { type: "button", class: "versions-toggle", "data-action": "versions", "aria-expanded": "false", "aria-controls": "dr-versions" },
        "Versions",
      );
      const closeButton = h(doc, "button", { type: "button", class: "close", "data-action": "close", "aria-label": "Close reader view" }, "Close");
      const smaller = h(doc, "button", { type: "button", "data-action": "smaller", "aria-label": "Smaller text" }, "A−");
      const larger = h(doc, "button", { type: "button", "data-action": "larger", "aria-label": "Larger text" }, "A+");
      this.toolbar = h(
        doc, "div", { class: "toolbar", role: "group", "aria-label": "Reader controls" },
        h(doc, "div", { class: "group", role: "group", "aria-label": "Text size" }, smaller, larger),
        select(doc, "dr-width", "Line width", WIDTHS, p.width),
        select(doc, "dr-theme", "Theme", THEMES, p.theme),
        select(doc, "dr-font", "Font", FONTS, p.font),
        h(doc, "span", { class: "spacer" }),
        this.saveButton,
        this.versionsButton,
        closeButton,
      );
      this.main = h(doc, "div", { class: "main" });
      this.versionsPanel = h(doc, "aside", { class: "versions", id: "dr-versions", "aria-labelledby": "dr-versions-title", hidden: true });
      this.dialog = h(
        doc, "div",
        { class: "reader", role: "dialog", "aria-modal": "true", "aria-labelledby": "dr-title", "aria-describedby": "dr-status", tabindex: "-1" },
        this.toolbar,
        this.toast,
        this.status,
        h(doc, "div", { class: "layout" }, this.main, this.versionsPanel),
      );
      this.status.id = "dr-status";
      this.root.append(this.dialog);

      this.toolbar.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-action]");
        if (!button) return;
        const action = button.dataset.action;
        if (action === "smaller" || action === "larger") {
          const index = FONT_SIZES.indexOf(this.prefs.fontSize) + (action === "larger" ? 1 : -1);
          this.updatePrefs({ fontSize: FONT_SIZES[Math.max(0, Math.min(FONT_SIZES.length - 1, index))] });
        } else if (action === "versions") {
          this.toggleVersions();
        } else {
          this.actions[action]?.();
        }
      });
      this.toolbar.addEventListener("change", (event) => {
        const key = { "dr-width": "width", "dr-theme": "theme", "dr-font": "font" }[event.target.id];
        if (key) this.updatePrefs({ [key]: event.target.value });
      });
      this.root.addEventListener("keydown", (event) => {
        if (event.key === "Tab") this.trapTab(event);
        event.stopPropagation();
      });
      this.root.addEventListener("click", (event) => {
        const button = event.target.closest("button[data-do]");
        if (!button || this.toolbar.contains(button)) return;
        const action = button.dataset.do;
        if (action === "dismiss-toast") this.hideToast();
        else if (action === "open-capture") this.actions.openCapture?.(button.dataset.id);
        else if (action === "diff") this.actions.diff?.(button.dataset.a, button.dataset.b);
        else this.actions[action]?.();
      });
    }

    updatePrefs(change) {
      this.prefs = normalisePrefs({ ...this.prefs, ...change });
      this.applyPrefs();
      this.actions.prefs?.(this.prefs);
    }

    applyPrefs() {
      const p = this.prefs;
      const d = this.dialog;
      d.dataset.theme = p.theme;
      d.dataset.width = p.width;
      d.dataset.font = p.font;
      d.style.setProperty("--dr-font-size", `${p.fontSize}px`);
      const index = FONT_SIZES.indexOf(p.fontSize);
      this.toolbar.querySelector("[data-action=smaller]").disabled = index <= 0;
      this.toolbar.querySelector("[data-action=larger]").disabled = index >= FONT_SIZES.length - 1;
      this.root.getElementById("dr-width").value = p.width;
      this.root.getElementById("dr-theme").value = p.theme;
      this.root.getElementById("dr-font").value = p.font;
    }

    setState(state) {
      if (this.host) this.host.setAttribute("data-state", state);
    }

    say(message) {
      this.status.textContent = message;
    }

    showLoading() {
      const doc = this.doc;
      this.main.replaceChildren(
        h(doc, "div", { class: "loading", "aria-busy": "true" },
          h(doc, "h1", { id: "dr-title" }, "Reader view"),
          h(doc, "p", {}, "Preparing a clean version of this page…")),
      );
      this.say("Preparing a clean version of this page…");
      this.setState("loading");
    }

    /** Render an article from the server; `archived` is the capture it came from, if any. */
    showArticle(article, { archived = null, pageUrl = location.href, citeHref = "" } = {}) {
      const doc = this.doc;
      const base = archived ? archived.url || article.url || pageUrl : pageUrl;
      const body = ns.sanitize(article.html || "", base, doc);
      const firstHeading = body.querySelector("h1");
      if (firstHeading && article.title && firstHeading.textContent.trim() === article.title.trim()) {
        firstHeading.remove();
      }
      const meta = [];
      if (article.byline) meta.push(h(doc, "span", { class: "byline" }, article.byline));
      if (article.published) {
        const stamp = new Date(article.published);
        meta.push(h(doc, "time", { datetime: Number.isNaN(stamp.getTime()) ? null : stamp.toISOString() }, formatDate(article.published)));
      }
      if (article.reading_minutes) {
        meta.push(h(doc, "span", { class: "reading-time" }, `${article.reading_minutes} min read`));
      }
      const original = ns.safeUrl(article.url || pageUrl, pageUrl);
      let lead = null;
      const leadSrc = article.lead_image && ns.safeUrl(article.lead_image, base);
      if (leadSrc && /^https?:/.test(leadSrc) && !body.querySelector("img")) {
        lead = h(doc, "figure", { class: "lead" }, h(doc, "img", { src: leadSrc, alt: "", loading: "lazy", referrerpolicy: "no-referrer" }));
      }
      const notice = archived
        ? h(doc, "div", { class: "notice", role: "note" },
            h(doc, "span", {}, `Archived copy from ${formatDateTime(archived.captured_at)}.`), " ",
            /^https?:\/\//i.test(citeHref)
              ? h(doc, "a", { class: "cite", href: citeHref, target: "_blank", rel: "noopener noreferrer" }, "Cite this capture")
              : null,
            citeHref ? " " : null,
            h(doc, "button", { type: "button", "data-do": "live" }, "Back to the live page"))
        : null;
      const page = h(
        doc, "article", { class: "page", lang: article.lang || null, dir: "auto" },
        notice,
        h(doc, "header", { class: "head" },
          article.site_name ? h(doc, "p", { class: "site" }, article.site_name) : null,
          h(doc, "h1", { id: "dr-title", class: "title" }, article.title || "Untitled article"),
          meta.length ? h(doc, "p", { class: "meta" }, ...meta.flatMap((item, i) => (i ? [h(doc, "span", { class: "sep", "aria-hidden": "true" }, " · "), item] : [item]))) : null),
        lead,
        h(doc, "div", { class: "body" }, body),
        h(doc, "footer", { class: "foot" },
          original ? h(doc, "a", { class: "original", href: original, target: "_blank", rel: "noopener noreferrer" }, "Read the original page") : null,
          article.word_count ? h(doc, "span", { class: "words" }, `${article.word_count.toLocaleString()} words`) : null),
      );
      for (const image of page.querySelectorAll("img")) {
        image.addEventListener("error", () => {
          const figure = image.closest("figure");
          (figure && !figure.textContent.trim() ? figure : image).hidden = true;
        }, { once: true });
      }
      this.main.replaceChildren(page);
      this.dialog.scrollTop = 0;
      this.say(archived ? `Showing the archived copy from ${formatDateTime(archived.captured_at)}.` : "Reader view ready. Press Escape to close.");
      this.setState(archived ? "archived" : "ready");
    }

    /** A friendly explanation with the one action that fixes it. */
    showFailure(failure) {
      const doc = this.doc;
      const titles = {
        unreachable: "Can't reach the Declutter server",
        "no-article": "No article found",
        "too-large": "This page is too large",
        token: "The server refused the token",
        "token-missing": "No access token yet",
        permission: "Server access not granted yet",
        settings: "Check the server address",
        busy: "The server is busy",
        unavailable: "The archive is unavailable",
        "fetch-refused": "The server may not fetch this page",
        "fetch-failed": "The server could not fetch this page",
      };
      const fixable = ["unreachable", "token", "token-missing", "permission", "settings"].includes(failure.state);
      const retry = ["unreachable", "busy", "unavailable", "server-error", "error"].includes(failure.state);
      this.main.replaceChildren(
        h(doc, "div", { class: "failure", "data-failure": failure.state },
          h(doc, "h1", { id: "dr-title" }, titles[failure.state] || "The reader view failed"),
          h(doc, "p", {}, failure.message),
          failure.detail ? h(doc, "p", { class: "detail" }, failure.detail) : null,
          h(doc, "p", { class: "actions" },
            fixable ? h(doc, "button", { type: "button", "data-do": "options" }, "Open options") : null,
            retry ? h(doc, "button", { type: "button", "data-do": "retry" }, "Try again") : null,
            h(doc, "button", { type: "button", "data-do": "close" }, "Back to the page"))),
      );
      this.say(`${titles[failure.state] || "The reader view failed"}. ${failure.message}`);
      this.setState(`failed:${failure.state}`);
    }

    toggleVersions(force) {
      const open = force ?? this.versionsPanel.hidden;
      this.versionsPanel.hidden = !open;
      this.versionsButton.setAttribute("aria-expanded", String(open));
      if (open) {
        // In a narrow window the panel sits above the article: bring it into view.
        this.versionsPanel.scrollIntoView({ block: "nearest" });
        this.actions.versions?.();
      }
    }

    showVersionsLoading() {
      const doc = this.doc;
      this.versionsPanel.replaceChildren(
        h(doc, "h2", { id: "dr-versions-title" }, "Versions"),
        h(doc, "p", {}, "Loading the archived versions of this page…"),
      );
    }

    /** List captures newest first, marking each one whose text changed from the one before. */
    showVersions(captures, changes = []) {
      const doc = this.doc;
      const changedBy = new Map();
      for (const change of changes) {
        const newer = change.to_id ?? change.b ?? change.capture_id ?? change.new_id;
        const older = change.from_id ?? change.a ?? change.previous_id ?? change.old_id;
        if (newer !== undefined) changedBy.set(String(newer), { ...change, older, newer });
      }
      const ordered = [...captures].sort((a, b) => String(b.captured_at || "").localeCompare(String(a.captured_at || "")));
      const items = ordered.map((capture, index) => {
        const id = String(capture.id);
        let change = changedBy.get(id);
        const older = ordered.slice(index + 1).find((other) => other.text_digest);
        if (!change && older && capture.text_digest && older.text_digest !== capture.text_digest) {
          change = { older: String(older.id), newer: id };
        }
        const label = formatDateTime(capture.captured_at || capture.created_at);
        const title = capture.title || capture.article_title || "";
        return h(doc, "li", { class: change ? "changed" : null },
          h(doc, "button", { type: "button", "data-do": "open-capture", "data-id": id },
            h(doc, "span", { class: "when" }, label || id),
            title ? h(doc, "span", { class: "what" }, title) : null),
          change
            ? h(doc, "span", { class: "mark" },
                h(doc, "span", { class: "badge" }, "Changed"),
                change.words_added !== undefined
                  ? ` +${change.words_added} −${change.words_removed ?? 0} words `
                  : " text differs from the version before ",
                change.older !== undefined
                  ? h(doc, "button", { type: "button", "data-do": "diff", "data-a": String(change.older), "data-b": id, class: "link" }, "Show changes")
                  : null)
            : null);
      });
      this.versionsPanel.replaceChildren(
        h(doc, "h2", { id: "dr-versions-title" }, "Versions"),
        items.length
          ? h(doc, "ol", { class: "version-list", reversed: true }, ...items)
          : h(doc, "p", {}, "No snapshot of this page yet. “Save snapshot” keeps one."),
      );
    }

    showVersionsFailure(failure) {
      const doc = this.doc;
      this.versionsPanel.replaceChildren(
        h(doc, "h2", { id: "dr-versions-title" }, "Versions"),
        h(doc, "p", { class: "failure" }, failure.message),
      );
    }

    /** A word-level diff: the server's HTML (only ins/del/p survive sanitising) or its op list. */
    showDiff(diff) {
      const doc = this.doc;
      const content = h(doc, "div", { class: "diff-body" });
      if (Array.isArray(diff.ops)) {
        for (const span of diff.ops) {
          const text = String(span.text ?? "");
          if (span.op === "insert") content.append(h(doc, "ins", {}, text));
          else if (span.op === "delete") content.append(h(doc, "del", {}, text));
          else content.append(doc.createTextNode(text));
        }
      } else {
        content.append(ns.sanitize(diff.html || "", location.href, doc));
      }
      this.main.replaceChildren(
        h(doc, "article", { class: "page diff" },
          h(doc, "div", { class: "notice", role: "note" },
            h(doc, "span", {}, "Changes between two archived versions."), " ",
            h(doc, "button", { type: "button", "data-do": "live" }, "Back to the live page")),
          h(doc, "h1", { id: "dr-title", class: "title" }, "What changed"),
          h(doc, "p", { class: "meta" }, `${diff.words_added ?? content.querySelectorAll("ins").length} added, ${diff.words_removed ?? content.querySelectorAll("del").length} removed`),
          content),
      );
      this.dialog.scrollTop = 0;
      this.say("Showing the changes between two versions.");
      this.setState("diff");
    }

    /**
     * A visible result under the toolbar: `kind` "ok" or "error", an optional http(s) `link`
     * ({href, text}) opened in a new tab, an optional `action` ({text, do}) run like any
     * data-do button. It stays until dismissed or replaced, so nobody has to read it in time.
     */
    showToast({ kind, message, link = null, action = null }) {
      const doc = this.doc;
      const parts = [h(doc, "span", { class: "toast-message" }, message)];
      if (link && /^https?:\/\//i.test(link.href)) {
        parts.push(h(doc, "a", { href: link.href, target: "_blank", rel: "noopener noreferrer" }, link.text));
      }
      if (action) parts.push(h(doc, "button", { type: "button", class: "link", "data-do": action.do }, action.text));
      parts.push(h(doc, "button", { type: "button", class: "link dismiss", "data-do": "dismiss-toast", "aria-label": "Dismiss" }, "Dismiss"));
      this.toast.replaceChildren(...parts);
      this.toast.dataset.kind = kind;
      this.toast.hidden = false;
    }

    hideToast() {
      this.toast.hidden = true;
      this.toast.replaceChildren();
    }

    setSaving(busy) {
      this.saveButton.disabled = busy;
      this.saveButton.textContent = busy ? "Saving…" : "Save snapshot";
    }

    focusables() {
      return Array.from(this.root.querySelectorAll(FOCUSABLE)).filter(
        (element) => !element.closest("[hidden]") && element.getClientRects().length > 0,
      );
    }

    trapTab(event) {
      const items = this.focusables();
      if (!items.length) return;
      const active = this.root.activeElement;
      const index = items.indexOf(active);
      let next = null;
      if (event.shiftKey && index <= 0) next = items[items.length - 1];
      else if (!event.shiftKey && (index === -1 || index === items.length - 1)) next = items[0];
      if (next) {
        event.preventDefault();
        next.focus();
      }
    }

    onKeydown(event) {
      if (event.key === "Escape" && !event.isComposing) {
        event.preventDefault();
        event.stopImmediatePropagation();
        this.actions.close?.();
      }
    }

    onFocusIn(event) {
      if (this.host && event.target !== this.host) {
        const first = this.focusables()[0] || this.dialog;
        first.focus({ preventScroll: true });
      }
    }
  }

  ns.Overlay = Overlay;
  ns.DEFAULT_PREFS = DEFAULT_PREFS;
})();
