"""Previews of answers that are web pages: the answer's HTML block, with its CSS blocks in a
``<style>`` and its JavaScript blocks in a ``<script>``, as one document.

The document is the only place model output is ever HTML, and it never runs in the platform's
origin. It is served by its own URL (``GET /tasks/{id}/answers/{position}/preview?turn=N``) with
its own policy, :data:`PREVIEW_CSP`: ``sandbox allow-scripts`` makes its origin opaque wherever
it is opened (framed or not: no cookies, no same-origin requests, no forms, popups, modals or
top-level navigation), and every fetch directive is ``'none'`` except the document's own inline
scripts and styles and ``data:`` images, so it loads nothing and sends nothing. The same policy
is the first element of its ``<head>``, and the page frames it in ``<iframe sandbox=
"allow-scripts">``.

It is not an ``srcdoc`` iframe: an ``about:srcdoc`` document inherits the embedding page's CSP,
so the platform's ``script-src 'self'`` would block the preview's inline scripts, and allowing
them there would weaken the platform page's own script policy.
"""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping
from typing import Any

from codearena.answers import CodeBlock, stored_blocks

PREVIEW_CSP = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; media-src data:; connect-src 'none'; frame-src 'none'; "
    "child-src 'none'; worker-src 'none'; object-src 'none'; manifest-src 'none'; "
    "base-uri 'none'; form-action 'none'"
)
"""The document's own policy (also in its ``<meta>``, where ``sandbox`` and
``frame-ancestors`` do not apply, so the response header adds them: :data:`PREVIEW_HEADERS`)."""
PREVIEW_HEADERS = {
    "Content-Security-Policy": f"{PREVIEW_CSP}; sandbox allow-scripts; frame-ancestors 'self'",
    "X-Frame-Options": "SAMEORIGIN",  # the platform's own page frames it; no one else
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
}
HTML_TAGS = frozenset({"html", "htm", "xhtml"})
CSS_TAGS = frozenset({"css"})
JS_TAGS = frozenset({"javascript", "js", "mjs", "jsx"})


def _tag(block: CodeBlock) -> str:
    return (block.language or "").strip().lower()


def _is_html(block: CodeBlock) -> bool:
    if _tag(block) in HTML_TAGS:
        return True
    start = block.source.lstrip()[:20].lower()
    return not _tag(block) and start.startswith(("<!doctype html", "<html"))


def page_blocks(blocks: Iterable[CodeBlock]) -> tuple[CodeBlock, list[CodeBlock], list[CodeBlock]]:
    """The first HTML block and the CSS and JavaScript blocks of the same variant; raises
    LookupError when the answer has no HTML block (it is not a web page)."""
    listed = [b for b in blocks if b.source.strip()]
    page = next((b for b in listed if _is_html(b)), None)
    if page is None:
        raise LookupError("this answer has no HTML block to preview")
    same = [b for b in listed if b.variant == page.variant]
    return (
        page,
        [b for b in same if _tag(b) in CSS_TAGS],
        [b for b in same if _tag(b) in JS_TAGS],
    )


def has_preview(code: Iterable[Mapping[str, Any]] | None) -> bool:
    """Whether an answer's stored blocks make a web page."""
    try:
        page_blocks(stored_blocks(code or []))
    except LookupError:
        return False
    return True


def preview_document(blocks: Iterable[CodeBlock]) -> str:
    """The answer's page as one document, the policy's ``<meta>`` first in its head. The HTML
    block goes in the body as written (a whole document's own ``<html>``/``<head>`` tags are
    merged by the parser, after the policy); a ``</style`` or ``</script`` inside a CSS or
    JavaScript block is escaped so the block stays one element."""
    page, styles, scripts = page_blocks(blocks)
    css = "\n".join(b.source for b in styles).replace("</style", "<\\/style")
    js = "\n".join(b.source for b in scripts).replace("</script", "<\\/script")
    head = (
        "<!DOCTYPE html><html><head>"
        f'<meta http-equiv="Content-Security-Policy" content="{html.escape(PREVIEW_CSP)}">'
        '<meta charset="utf-8"><meta name="referrer" content="no-referrer">'
        "<title>Preview</title>" + (f"<style>\n{css}\n</style>" if css else "") + "</head><body>\n"
    )
    tail = (f"\n<script>\n{js}\n</script>" if js else "") + "\n</body></html>\n"
    return head + page.source + tail
