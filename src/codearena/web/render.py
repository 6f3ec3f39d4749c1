"""Model replies as safe HTML: Markdown with raw HTML disabled, code highlighted by Pygments.

Every code block gets Copy and Download buttons; a block the pipeline extracted as runnable
code also gets a Run button and a Fix button (the fix-it-yourself editor) carrying the index of
that block in ``generations.code``. An answer that is a web page (an HTML block) gets a Preview
button (``web/preview.py``).
"""

from __future__ import annotations

from collections.abc import Sequence
from html import escape
from typing import Any

from markdown_it import MarkdownIt
from markdown_it.token import Token
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexer import Lexer
from pygments.lexers import TextLexer, get_lexer_by_name
from pygments.util import ClassNotFound

from codearena.answers import file_extension
from codearena.web.preview import has_preview

_FORMATTER = HtmlFormatter(nowrap=True)
# an answer that is a web page: the button that frames its preview (static/app.js), never the
# page itself (web/preview.py serves it, sandboxed, from its own URL)
PREVIEW_BAR = (
    '<div class="preview" data-role="preview"><button type="button" class="btn" '
    'data-action="preview-open" data-testid="preview-open" disabled>Preview the page</button>'
    '<span class="small">in a sandboxed frame: no network, no cookies, no access to this '
    "site</span></div>"
)


def _lexer(language: str | None) -> Lexer:
    if language:
        try:
            lexer: Lexer = get_lexer_by_name(language, stripnl=False)
            return lexer
        except ClassNotFound:
            pass
    fallback: Lexer = TextLexer(stripnl=False)
    return fallback


def code_block_html(source: str, language: str | None, run_index: int | None) -> str:
    """One highlighted block with its tool buttons (all text escaped by Pygments / escape)."""
    lang = (language or "").strip().lower()[:32]
    body = highlight(source, _lexer(lang or None), _FORMATTER)
    filename = f"solution.{file_extension(lang)}"
    run = (
        f'<button type="button" class="btn run" data-action="run" data-testid="run" '
        f'data-block="{run_index}" disabled>Run</button>'
        f'<button type="button" class="btn" data-action="fix-open" data-testid="fix-open" '
        f'data-block="{run_index}" disabled>Fix it yourself</button>'
        if run_index is not None
        else ""
    )
    return (
        f'<div class="code-block" data-language="{escape(lang)}">'
        f'<div class="code-tools"><span class="code-lang">{escape(lang or "code")}</span>'
        '<button type="button" class="btn" data-action="copy">Copy</button>'
        f'<button type="button" class="btn" data-action="download" '
        f'data-filename="{escape(filename)}">Download</button>{run}</div>'
        f'<pre class="highlight"><code>{body}</code></pre>'
        '<div class="run-result" data-testid="run-result" hidden></div>'
        '<div class="fix-panel" data-role="fix-panel" hidden></div></div>'
    )


def _parser(code: Sequence[dict[str, Any]], used: set[int]) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})

    def fence(_renderer: Any, tokens: Sequence[Token], idx: int, _options: Any, _env: Any) -> str:
        token = tokens[idx]
        source = token.content.rstrip("\n")
        language = token.info.strip().split()[0] if token.info.strip() else None
        run_index = None
        for index, block in enumerate(code):
            if index not in used and block.get("source") == source and source.strip():
                run_index = index
                used.add(index)
                break
        return code_block_html(source, language, run_index)

    md.add_render_rule("fence", fence)
    md.add_render_rule("code_block", fence)
    return md


def render_answer(text: str, code: Sequence[dict[str, Any]] = ()) -> str:
    """Safe HTML for a reply; code the pipeline extracted but Markdown did not fence is appended."""
    used: set[int] = set()
    html = str(_parser(code, used).render(text or ""))
    leftovers = [
        code_block_html(str(block.get("source", "")), block.get("language"), index)
        for index, block in enumerate(code)
        if index not in used and str(block.get("source", "")).strip()
    ]
    if leftovers:
        html += '<p class="extracted">Code found in the reply:</p>' + "".join(leftovers)
    if has_preview(code):
        html = PREVIEW_BAR + html
    return html
