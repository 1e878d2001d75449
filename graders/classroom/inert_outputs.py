"""What a student's notebook leaves is data, never active content, in every view that renders it.

InertOutputs runs in autograde right after ScoreOutsideKernel (nbgrader_config.py). formgrader and
`nbgrader generate_feedback` render the autograded notebook with nbconvert on the Jupyter server's own
origin, where a student's HTML, JavaScript or widget would run with the instructor's session.
"""

import base64
import binascii
import html
import re
from html.parser import HTMLParser
from typing import Any

import nh3
from nbconvert.exporters.exporter import ResourcesDict
from nbconvert.filters.markdown_mistune import IPythonRenderer, MarkdownWithMath
from nbformat import NotebookNode
from nbformat.v4 import new_output
from nbgrader.preprocessors import NbGraderPreprocessor
from traitlets import Dict, List, Set, Unicode

TEXT = "text/plain"
# Notebook metadata no view turns into active content; the rest (widget state first of all) is dropped.
KEPT_NOTEBOOK_METADATA = ("kernelspec", "language_info", "nbgrader")
# Classes that scripts of nbconvert's page act on.
ACTIVE_CLASSES = {"mermaid"}
HEADINGS = {f"h{level}" for level in range(1, 7)}
# TeX commands of MathJax's html and url extensions: a link (\href{javascript:…}{x} runs on a click) or
# an id, class, style or data attribute on the formula. A cell using one is shown as text, not typeset.
MATHJAX_ACTIVE = re.compile(r"\\(href|url|class|cssId|style|data|unicode)\b")
# nbconvert's markdown renderer gives headings an id and an anchor link, code blocks a language class.
MARKDOWN_ATTRIBUTES = {
    **{tag: set(names) for tag, names in nh3.ALLOWED_ATTRIBUTES.items()},
    **{tag: {"id"} for tag in HEADINGS},
    "a": {"href", "class"},
    "code": {"class"},
    "span": {"class"},
    "div": {"class"},
    "pre": {"class"},
}


class InertOutputs(NbGraderPreprocessor):
    """Keep only inert outputs (text, PNG/JPEG images, streams, errors) and sanitize markdown HTML."""

    image_types = List(
        Unicode(), ["image/png", "image/jpeg"], help="image types kept as images (base64 data only)"
    ).tag(config=True)
    markdown_tags = Set(Unicode(), set(nh3.ALLOWED_TAGS), help="HTML tags a markdown cell may render").tag(
        config=True
    )
    markdown_attributes = Dict(
        MARKDOWN_ATTRIBUTES, help="attributes each markdown tag may keep ('*': every tag)"
    ).tag(config=True)
    link_schemes = Set(
        Unicode(), {"http", "https", "mailto"}, help="URL schemes a markdown link may use (and relative URLs)"
    ).tag(config=True)

    def preprocess(self, nb: NotebookNode, resources: ResourcesDict) -> tuple[NotebookNode, ResourcesDict]:
        nb.metadata = {key: value for key, value in nb.metadata.items() if key in KEPT_NOTEBOOK_METADATA}
        return super().preprocess(nb, resources)

    def preprocess_cell(
        self, cell: NotebookNode, resources: ResourcesDict, cell_index: int
    ) -> tuple[NotebookNode, ResourcesDict]:
        if cell.cell_type == "code":
            cell.execution_count = _count(cell.get("execution_count"))
            cell.outputs = [self.inert_output(output) for output in cell.get("outputs", [])]
        if "attachments" in cell:
            cell.attachments = self.inert_attachments(cell.attachments)
            if not cell.attachments:
                del cell["attachments"]
        if cell.cell_type == "markdown":
            cell.source = self.inert_markdown(cell.source, cell.get("attachments", {}))
        return cell, resources

    def inert_output(self, output: NotebookNode) -> NotebookNode:
        """The output as text, images and errors only; what was removed is named when no text is left."""
        kind = output.get("output_type")
        if kind == "stream":
            name = "stderr" if output.get("name") == "stderr" else "stdout"
            return new_output("stream", name=name, text=_text(output.get("text")))
        if kind == "error":
            traceback = output.get("traceback")
            lines = [_text(line) for line in traceback] if isinstance(traceback, list) else []
            return new_output(
                "error",
                ename=_text(output.get("ename")),
                evalue=_text(output.get("evalue")),
                traceback=lines,
            )
        if kind not in ("display_data", "execute_result"):
            return new_output("stream", name="stdout", text=f"[removed: an output of type {_text(kind)!r}]\n")
        bundle = output.get("data") if isinstance(output.get("data"), dict) else {}
        data = {
            mime: value for mime, value in bundle.items() if mime in self.image_types and _is_base64(value)
        }
        if isinstance(bundle.get(TEXT), str):
            data[TEXT] = bundle[TEXT]
        elif not data:
            removed = ", ".join(sorted(map(str, bundle))) or "an empty display"
            data[TEXT] = f"[removed: {removed} (only text and PNG/JPEG images are shown)]"
        metadata = _image_sizes(output.get("metadata"), data)
        if kind == "execute_result":
            return new_output(
                kind, data=data, metadata=metadata, execution_count=_count(output.get("execution_count"))
            )
        return new_output(kind, data=data, metadata=metadata)

    def inert_markdown(self, source: str, attachments: dict[str, dict[str, str]] | None = None) -> str:
        """The markdown itself when nbconvert renders it to nothing the sanitizer removes; else the
        sanitized HTML of that rendering, as one raw HTML block markdown passes through unchanged."""
        if MATHJAX_ACTIVE.search(source):  # the page's MathJax would make a link or an HTML attribute of it
            return _as_text(source)
        try:
            renderer = IPythonRenderer(escape=False, attachments=attachments or {})
            rendered = MarkdownWithMath(renderer=renderer).render(source)
        except Exception:  # e.g. an image of a missing attachment: nbconvert would fail on the whole page
            return _as_text(source)
        clean = nh3.clean(
            rendered,
            tags=self.markdown_tags,
            attributes={tag: set(names) for tag, names in self.markdown_attributes.items()},
            attribute_filter=self._keep_attribute,
            link_rel=None,
            url_schemes=self.link_schemes | {"data"},
        )
        return source if _tokens(clean) == _tokens(rendered) else _html_block(clean)

    def inert_attachments(self, attachments: Any) -> dict[str, dict[str, str]]:
        """Only PNG/JPEG attachments, as base64 data: an SVG or HTML attachment is dropped."""
        if not isinstance(attachments, dict):
            return {}
        kept = {}
        for name, bundle in attachments.items():
            images = {
                mime: value
                for mime, value in (bundle.items() if isinstance(bundle, dict) else ())
                if mime in self.image_types and _is_base64(value)
            }
            if images:
                kept[str(name)] = images
        return kept

    def _keep_attribute(self, tag: str, attribute: str, value: str) -> str | None:
        if attribute == "class":  # the page's mermaid.js would render a student's diagram
            return " ".join(name for name in value.split() if name not in ACTIVE_CLASSES)
        # An image loads without a click: only the cell's own attachments (nbconvert embeds them as data
        # URLs), never another server or a path on the grader's own, whose GET has the instructor's session.
        is_data = value.strip().lower().startswith("data:")
        if tag == "img" and attribute == "src":
            embedded = any(value.startswith(f"data:{kind};base64,") for kind in self.image_types)
            return value if embedded else None
        return None if is_data else value


def _as_text(source: str) -> str:
    """The markdown shown as the student typed it, escaped: MathJax and markdown leave a <pre> alone."""
    return _html_block(f"<pre>{html.escape(source)}</pre>")


def _html_block(clean: str) -> str:
    """Sanitized HTML as markdown that renders it unchanged: a blank line would end the HTML block and
    let markdown read the rest again."""
    lines = [line for line in clean.splitlines() if line.strip()]
    return "\n".join(["<div>", *lines, "</div>"])


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "".join(map(_text, value))
    return value if isinstance(value, str) else ""


def _count(value: Any) -> int | None:
    # nbconvert prints a cell's count unescaped, and the kernel's reply sets it.
    return value if isinstance(value, int) and not isinstance(value, bool) else None


BASE64 = re.compile(r"[A-Za-z0-9+/=\s]*")


def _is_base64(value: Any) -> bool:
    if not isinstance(value, str) or not BASE64.fullmatch(value):
        return False
    try:
        base64.b64decode("".join(value.split()), validate=True)
    except binascii.Error:
        return False
    return True


def _image_sizes(metadata: Any, data: dict[str, str]) -> dict[str, dict[str, int]]:
    """Each kept image's width and height when they are numbers; nbconvert writes them into the tag."""
    sizes = {}
    for kind in data:
        given = metadata.get(kind) if isinstance(metadata, dict) else None
        if isinstance(given, dict):
            numbers = {
                key: given[key]
                for key in ("width", "height")
                if isinstance(given.get(key), int) and not isinstance(given.get(key), bool)
            }
            if numbers:
                sizes[kind] = numbers
    return sizes


class _Tokens(HTMLParser):
    """An HTML fragment as tags with sorted attributes and text, so two serializations compare."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tokens: list[tuple[str, ...]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tokens.append(("<", tag, *sorted(f"{name}={value or ''}" for name, value in attrs)))

    handle_startendtag = handle_starttag

    def handle_endtag(self, tag: str) -> None:
        self.tokens.append(("</", tag))

    def handle_data(self, data: str) -> None:
        if self.tokens and self.tokens[-1][0] == "text":
            self.tokens[-1] = ("text", self.tokens[-1][1] + data)
        else:
            self.tokens.append(("text", data))

    def handle_comment(self, data: str) -> None:
        self.tokens.append(("<!--", data))

    def handle_decl(self, decl: str) -> None:
        self.tokens.append(("<!", decl))

    handle_pi = unknown_decl = handle_decl


def _tokens(html: str) -> list[tuple[str, ...]]:
    parser = _Tokens()
    parser.feed(html)
    parser.close()
    return parser.tokens
