// Injected on demand (toolbar button or shortcut) into the tab the reader asked for. Each
// injection toggles the overlay; the controller survives between injections in this isolated world.
(() => {
  const ns = globalThis.DeclutterReader;
  const api = globalThis.browser ?? globalThis.chrome;
  // Beyond this a page is not an article, and messages between extension parts cap out at 64 MB.
  const MAX_PAGE_CHARS = 32 * 1024 * 1024;

  async function send(message) {
    try {
      const answer = await api.runtime.sendMessage(message);
      if (answer) return answer;
    } catch (error) {
      return { ok: false, state: "error", message: "The extension was updated or reloaded: reload this page and try again.", detail: String(error && error.message || error) };
    }
    return { ok: false, state: "error", message: "The extension did not answer: reload this page and try again." };
  }

  class Controller {
    constructor() {
      this.overlay = null;
      this.generation = 0;
      this.pageHtml = "";
      this.pageUrl = "";
      this.article = null;
      this.opening = false;
      this.setup = null;
    }

    toggle() {
      if (this.opening || (this.overlay && this.overlay.isOpen)) this.close();
      else this.open();
    }

    async open() {
      const generation = ++this.generation;
      this.opening = true;
      this.marks = { started: Date.now() };
      // Asked for before the page is sent: the worker answers messages in order, and the frame
      // must not wait behind a megabyte of HTML. Kept for the next toggle on this page.
      const setting = this.setup || send({ type: "setup" });
      this.pageUrl = location.href;
      this.pageHtml = document.documentElement.outerHTML;
      this.mark("serialised");
      const cleaning = this.pageHtml.length > MAX_PAGE_CHARS
        ? Promise.resolve({ ok: false, state: "too-large", message: "This page is too large for the reader.", detail: `${Math.round(this.pageHtml.length / 1048576)} MB of HTML` })
        : send({ type: "clean", url: this.pageUrl, html: this.pageHtml });
      const setup = await setting;
      this.setup = setup.ok ? Promise.resolve(setup) : null;
      this.mark("setup");
      if (generation !== this.generation) return;
      this.opening = false;
      this.overlay = new ns.Overlay(this.actions(), { css: setup.ok ? setup.css : "", prefs: setup.prefs });
      this.overlay.open();
      this.overlay.showLoading();
      this.mark("shown");
      await this.render(cleaning, generation);
    }

    /** The opening's stages on the page's clock, on the host element for benchmarks to read. */
    mark(stage) {
      this.marks[stage] = Date.now();
      this.overlay?.host?.setAttribute("data-timings", JSON.stringify(this.marks));
    }

    async render(cleaning, generation) {
      const answer = await cleaning;
      if (generation !== this.generation || !this.overlay?.isOpen) return;
      this.mark("answered");
      if (answer.timings) {
        for (const [stage, at] of Object.entries(answer.timings)) this.marks[`worker_${stage}`] = at;
      }
      if (answer.ok) {
        this.article = answer.article;
        this.overlay.showArticle(answer.article, { pageUrl: this.pageUrl });
      } else {
        this.overlay.showFailure(answer);
      }
      this.mark("rendered");
    }

    close() {
      this.generation++;
      this.opening = false;
      this.overlay?.close();
      this.overlay = null;
    }

    actions() {
      return {
        close: () => this.close(),
        prefs: (prefs) => {
          this.setup = this.setup?.then((setup) => ({ ...setup, prefs }));
          return send({ type: "savePrefs", prefs });
        },
        retry: () => {
          const generation = ++this.generation;
          this.overlay.showLoading();
          this.render(send({ type: "clean", url: this.pageUrl, html: this.pageHtml }), generation);
        },
        live: () => {
          if (this.article) this.overlay.showArticle(this.article, { pageUrl: this.pageUrl });
          else this.actions().retry();
        },
        options: () => send({ type: "openOptions" }),
        save: async () => {
          const overlay = this.overlay;
          overlay.setSaving(true);
          overlay.say("Saving a snapshot of this page…");
          const answer = await send({ type: "save", url: this.pageUrl, html: this.pageHtml });
          if (overlay !== this.overlay) return;
          overlay.setSaving(false);
          if (answer.ok) {
            const readerOnly = answer.capture && answer.capture.source === "reader";
            const message = readerOnly
              ? "Snapshot saved as your browser shows the page: the server could not fetch it itself. It is listed under Versions."
              : "Snapshot saved. It is listed under Versions.";
            overlay.say(message);
            overlay.showToast({ kind: "ok", message, link: answer.page ? { href: answer.page, text: "Open the snapshot" } : null });
            overlay.setState("saved");
            if (!overlay.versionsPanel.hidden) this.actions().versions();
          } else {
            const message = `Not saved. ${answer.message}`;
            const fixable = ["token-missing", "token", "settings", "permission"].includes(answer.state);
            overlay.say(message);
            overlay.showToast({ kind: "error", message, action: fixable ? { text: "Open options", do: "options" } : null });
            overlay.setState(`save-failed:${answer.state}`);
          }
        },
        versions: async () => {
          const overlay = this.overlay;
          overlay.showVersionsLoading();
          const answer = await send({ type: "captures", url: this.pageUrl });
          if (overlay !== this.overlay) return;
          if (answer.ok) overlay.showVersions(answer.captures, answer.changes);
          else overlay.showVersionsFailure(answer);
        },
        openCapture: async (id) => {
          const overlay = this.overlay;
          overlay.say("Opening the archived version…");
          const answer = await send({ type: "capture", id });
          if (overlay !== this.overlay) return;
          if (!answer.ok) {
            overlay.say(`Could not open that version. ${answer.message}`);
            return;
          }
          const capture = answer.capture;
          const article = capture.article || capture;
          overlay.showArticle(article, { archived: capture, pageUrl: this.pageUrl, citeHref: answer.cite });
        },
        diff: async (a, b) => {
          const overlay = this.overlay;
          overlay.say("Comparing the two versions…");
          const answer = await send({ type: "diff", a, b });
          if (overlay !== this.overlay) return;
          if (answer.ok) overlay.showDiff(answer.diff);
          else overlay.say(`Could not compare the versions. ${answer.message}`);
        },
      };
    }
  }

  if (!ns.controller) ns.controller = new Controller();
  ns.controller.toggle();
})();
