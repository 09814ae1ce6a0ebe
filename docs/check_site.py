"""Check the built course site in a real browser, offline.

    python docs/check_site.py [--site docs/_build/html] [--query WORD] [--screenshots]

Serves ``docs/_build/html`` on 127.0.0.1 (a free port) and opens every HTML page in
Debian's Chromium through playwright. It fails when a page does not load, a local link
or anchor does not exist, an image did not load, a chapter shows an error output (or a
widget printed as text), the browser logs an error, maths is left untypeset, the search
page finds nothing for a typed query, or any page requests a URL that is not on this
machine (such requests are also blocked, so the check never reaches the network).
On a failure, a screenshot of the page goes to ``benchmarks/results/browser/site-PAGE.png``.
Exit status 0 when every check passes, 1 when one fails, 2 when it cannot run.
"""
from __future__ import annotations

import argparse
import functools
import http.server
import shutil
import sys
import threading
import time
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "docs" / "_build" / "html"
SHOTS = ROOT / "benchmarks" / "results" / "browser"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
INTERNAL_SCHEMES = {"data", "blob", "about", "javascript", "mailto"}
DEFAULT_QUERY = "singular"
TIMEOUT_MS = 30_000               # every navigation and wait
MATH_TIMEOUT_MS = 60_000          # typesetting a long chapter on a busy machine

# myst-nb gives error outputs the classes "output traceback" and stderr "output stderr".
ERROR_OUTPUTS_JS = """() => {
  const bad = [];
  for (const el of document.querySelectorAll('.output.traceback, .output.stderr, .output.error')) {
    bad.push((el.className + ': ' + el.textContent.trim()).slice(0, 160));
  }
  for (const el of document.querySelectorAll('.cell_output')) {
    const text = el.textContent;
    if (/Traceback \\(most recent call last\\)/.test(text)) bad.push('traceback: ' + text.trim().slice(0, 120));
    if (/^\\s*(VBox|HBox|Box)\\(children=/.test(text)) bad.push('a widget shown as text: ' + text.trim().slice(0, 80));
  }
  return bad;
}"""

IMAGES_JS = """async () => {
  const imgs = Array.from(document.images);
  for (const img of imgs) { if (img.loading === 'lazy') img.loading = 'eager'; }
  await Promise.all(imgs.map(img => img.complete ? null : new Promise(done => {
    img.addEventListener('load', done); img.addEventListener('error', done);
    setTimeout(done, 15000);
  })));
  return imgs.map(img => ({src: (img.currentSrc || img.src || '').slice(0, 120),
                           width: img.naturalWidth, complete: img.complete}));
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]')).map(a => ({
  raw: a.getAttribute('href'), href: a.href}))"""

IDS_JS = """() => Array.from(document.querySelectorAll('[id], a[name]')).map(
  el => el.id || el.getAttribute('name'))"""

MATH_COUNT_JS = "() => document.querySelectorAll('.math').length"

MATH_DONE_JS = """async () => {
  const wait = ms => new Promise(done => setTimeout(done, ms));
  const deadline = Date.now() + %d;
  while (!(window.MathJax && MathJax.startup && MathJax.startup.promise)) {
    if (Date.now() > deadline) return {error: 'MathJax did not start'};
    await wait(100);
  }
  const finished = await Promise.race([MathJax.startup.promise.then(() => true),
                                       wait(Math.max(deadline - Date.now(), 0)).then(() => false)]);
  if (!finished) return {error: 'MathJax did not finish typesetting in time'};
  const maths = Array.from(document.querySelectorAll('.math'));
  const untypeset = maths.filter(el => !el.querySelector('mjx-container'));
  const errors = Array.from(document.querySelectorAll('mjx-merror, [data-mjx-error]'));
  const undefinedMacros = Array.from(document.querySelectorAll('mjx-container mjx-mtext'))
    .filter(el => (el.getAttribute('style') || '').replace(/\\s/g, '').includes('color:red'));
  return {count: maths.length,
          typeset: document.querySelectorAll('mjx-container').length,
          untypeset: untypeset.slice(0, 3).map(el => el.textContent.slice(0, 80)),
          untypesetCount: untypeset.length,
          errors: errors.concat(undefinedMacros).slice(0, 3).map(el => {
            const box = el.closest('mjx-container');
            const mml = box && box.querySelector('mjx-assistive-mml');
            return (el.getAttribute('data-mjx-error') || (mml && mml.textContent) ||
                    'undefined macro or TeX error').slice(0, 80);
          }),
          errorCount: errors.length + undefinedMacros.length};
}"""


class _Ids(HTMLParser):
    """The ids and anchor names of a static HTML file."""

    def __init__(self):
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag, attrs):
        for key, value in attrs:
            if value and (key == "id" or (tag == "a" and key == "name")):
                self.ids.add(value)


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's signature
        pass


def fail_early(message: str) -> int:
    print(f"check_site: {message}", file=sys.stderr)
    return 2


def page_name(site: Path, path: Path) -> str:
    rel = path.relative_to(site).with_suffix("")
    return "-".join(rel.parts) or "index"


class Checker:
    def __init__(self, site: Path, base: str, query: str, all_shots: bool):
        self.site, self.base, self.query, self.all_shots = site, base, query, all_shots
        self.failures: list[str] = []
        self._seen: set[str] = set()
        self.ids: dict[Path, set[str]] = {}
        self.links: list[tuple[str, str, str]] = []     # (page, raw href, absolute href)
        self.images = 0
        self.math_pages = 0
        self.external_links: set[str] = set()
        self.search_results = 0
        self.blocked: list[str] = []

    # -- helpers -------------------------------------------------------------------------
    def fail(self, page: str, message: str) -> None:
        line = f"{page}: {message}"
        if line not in self._seen:
            self._seen.add(line)
            self.failures.append(line)

    def is_local(self, url: str) -> bool:
        parts = urlsplit(url)
        if parts.scheme in INTERNAL_SCHEMES or parts.scheme == "":
            return True
        return parts.scheme in ("http", "https") and parts.hostname in LOCAL_HOSTS

    def file_of(self, url: str) -> Path:
        path = unquote(urlsplit(url).path).lstrip("/")
        target = self.site / path
        return target / "index.html" if path == "" or path.endswith("/") else target

    def screenshot(self, page, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        try:
            page.screenshot(path=str(SHOTS / f"site-{name}.png"), timeout=TIMEOUT_MS)
        except Exception as exc:  # noqa: BLE001 - a missing screenshot is not a failure
            print(f"check_site: no screenshot of {name} ({exc})", file=sys.stderr)

    # -- one page ------------------------------------------------------------------------------
    def visit(self, context, path: Path) -> None:
        name = page_name(self.site, path)
        url = self.base + "/".join(path.relative_to(self.site).parts)
        before = len(self.failures)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.on("console", lambda msg: msg.type == "error" and self.fail(
            name, f"console error: {msg.text[:200]}"))
        page.on("pageerror", lambda exc: self.fail(name, f"script error: {str(exc)[:200]}"))
        page.on("request", lambda req: None if self.is_local(req.url) else self.fail(
            name, f"request to a non-local URL: {req.url[:160]}"))
        page.on("response", lambda resp: resp.status >= 400 and self.fail(
            name, f"HTTP {resp.status} for {resp.url[len(self.base) - 1:][:160]}"))
        try:
            response = page.goto(url, wait_until="load", timeout=TIMEOUT_MS)
            if response is None or not response.ok:
                self.fail(name, f"did not load ({response.status if response else 'no response'})")
            else:
                page.wait_for_load_state("networkidle", timeout=TIMEOUT_MS)
                self.check_page(page, name, path)
        except Exception as exc:  # noqa: BLE001 - playwright timeouts and errors
            self.fail(name, f"{type(exc).__name__}: {str(exc).splitlines()[0][:200]}")
        if len(self.failures) > before or self.all_shots:
            self.screenshot(page, name)
        page.close()

    def check_page(self, page, name: str, path: Path) -> None:
        for image in page.evaluate(IMAGES_JS):
            self.images += 1
            if not image["width"]:
                self.fail(name, f"image did not load: {image['src']}")
        for problem in page.evaluate(ERROR_OUTPUTS_JS):
            self.fail(name, f"error output in the page: {problem}")
        if page.evaluate(MATH_COUNT_JS):
            self.math_pages += 1
            result = page.evaluate(MATH_DONE_JS % MATH_TIMEOUT_MS)
            if "error" in result:
                self.fail(name, result["error"])
            else:
                if result["untypesetCount"]:
                    self.fail(name, f"{result['untypesetCount']} of {result['count']} maths "
                                    f"elements not typeset, e.g. {result['untypeset']}")
                if result["errorCount"]:
                    self.fail(name, f"{result['errorCount']} maths errors, e.g. "
                                    f"{result['errors']}")
        self.ids[path] = set(page.evaluate(IDS_JS))
        for link in page.evaluate(LINKS_JS):
            self.links.append((name, link["raw"], link["href"]))
        if path.name == "search.html":
            self.check_search(page, name)

    def check_search(self, page, name: str) -> None:
        """Type the query into the search page's own box; it must list results."""
        box = page.locator("#search-results").locator("xpath=..").locator(
            "input[name='q']").or_(page.locator("form.search input[name='q'], "
                                                "article input[name='q']")).first
        box.fill(self.query, timeout=TIMEOUT_MS)
        box.press("Enter")
        page.wait_for_url(lambda url: "q=" in url, timeout=TIMEOUT_MS)
        page.wait_for_load_state("load", timeout=TIMEOUT_MS)
        try:
            page.wait_for_selector("#search-results ul.search li", timeout=TIMEOUT_MS)
        except Exception:  # noqa: BLE001 - reported as a failure below
            pass
        self.search_results = page.locator("#search-results ul.search li").count()
        if not self.search_results:
            self.fail(name, f"searching for {self.query!r} found nothing")
        for link in page.evaluate(LINKS_JS):
            self.links.append((name, link["raw"], link["href"]))

    # -- links ---------------------------------------------------------------------------------
    def check_links(self) -> None:
        static_ids: dict[Path, set[str]] = {}
        for page, raw, href in self.links:
            parts = urlsplit(href)
            if parts.scheme in INTERNAL_SCHEMES:
                continue
            if not self.is_local(href):
                self.external_links.add(href)
                continue
            target = self.file_of(href)
            if not target.is_file():
                self.fail(page, f"broken link {raw!r}: {target.relative_to(self.site)} "
                                "does not exist")
                continue
            fragment = unquote(parts.fragment)
            if not fragment or target.suffix != ".html":
                continue
            ids = self.ids.get(target)
            if ids is None:
                if target not in static_ids:
                    parser = _Ids()
                    parser.feed(target.read_text(encoding="utf-8", errors="replace"))
                    static_ids[target] = parser.ids
                ids = static_ids[target]
            if fragment not in ids:
                self.fail(page, f"broken anchor {raw!r}: no id {fragment!r} in "
                                f"{target.relative_to(self.site)}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--site", type=Path, default=SITE, help="the built site (default: "
                        "docs/_build/html)")
    parser.add_argument("--query", default=DEFAULT_QUERY,
                        help=f"word typed into the search page (default {DEFAULT_QUERY!r})")
    parser.add_argument("--screenshots", action="store_true",
                        help="save a screenshot of every page, not only of failing ones")
    args = parser.parse_args(argv)
    site = args.site.resolve()
    if not (site / "index.html").is_file():
        return fail_early(f"no built site in {site}: run 'make site' first")
    chromium = shutil.which("chromium") or "/usr/bin/chromium"
    if not Path(chromium).exists():
        return fail_early("Chromium is missing: run 'apt-get install -y chromium'")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return fail_early("the playwright package is missing: run 'make install' "
                          "(it is in the browser extra)")

    pages = sorted(p for p in site.rglob("*.html")
                   if not any(part.startswith("_") for part in p.relative_to(site).parts))
    first = [site / "index.html"]
    pages = first + [p for p in pages if p not in first]

    handler = functools.partial(_QuietHandler, directory=str(site))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="site-server", daemon=True)
    thread.start()
    base = f"http://127.0.0.1:{server.server_address[1]}/"
    start = time.perf_counter()
    checker = Checker(site, base, args.query, args.screenshots)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS,
                                         timeout=TIMEOUT_MS)
            try:
                context = browser.new_context(viewport={"width": 1280, "height": 900},
                                              service_workers="block")

                def route(route_):
                    if checker.is_local(route_.request.url):
                        route_.continue_()
                    else:
                        checker.blocked.append(route_.request.url)
                        route_.abort("blockedbyclient")
                context.route("**/*", route)
                for path in pages:
                    checker.visit(context, path)
                context.close()
            finally:
                browser.close()
    except Exception as exc:  # noqa: BLE001 - the browser could not start or crashed
        checker.failures.append(f"browser: {type(exc).__name__}: "
                                f"{str(exc).splitlines()[0][:300]}")
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)
    checker.check_links()
    seconds = time.perf_counter() - start

    local_links = sum(1 for _, _, href in checker.links
                      if urlsplit(href).scheme not in INTERNAL_SCHEMES and checker.is_local(href))
    print(f"check_site: {len(pages)} pages, {local_links} local links "
          f"({len(checker.external_links)} distinct external links, not followed), "
          f"{checker.images} images, {checker.math_pages} pages with maths, "
          f"search {args.query!r}: {checker.search_results} results, "
          f"{len(checker.blocked)} non-local requests, {seconds:.1f} s")
    if checker.failures:
        shown = checker.failures[:60]
        print(f"check_site: {len(checker.failures)} problem(s):", file=sys.stderr)
        for line in shown:
            print(f"  - {line}", file=sys.stderr)
        if len(checker.failures) > len(shown):
            print(f"  ... and {len(checker.failures) - len(shown)} more", file=sys.stderr)
        print(f"check_site: screenshots in {SHOTS.relative_to(ROOT)}/site-*.png",
              file=sys.stderr)
        return 1
    print("check_site: all good")
    return 0


if __name__ == "__main__":
    sys.exit(main())
