"""What a browser may make of the mock's answers: never a page that runs script in its origin.

Every answer carries :data:`NOSNIFF`, so a browser takes the declared type at its word. Every answer
the mock writes itself is JSON, except its own pages (:mod:`~mock_as.pages`: AM's error and consent
pages, the login page), each under a strict policy of its own; only an injected fault chooses its own type, and a type a browser
renders as a document (:func:`renders_as_document`) needs a setting of its own
(:attr:`~mock_as.config.MockASConfig.fault_documents`) and is then sent with :data:`NO_SCRIPT`.
"""

from __future__ import annotations

NOSNIFF: tuple[str, str] = ("X-Content-Type-Options", "nosniff")
NO_SCRIPT: tuple[str, str] = ("Content-Security-Policy", "default-src 'none'; sandbox")
"""No script, style, frame or fetch, and an opaque origin: what a document from a fault gets."""

# Types a browser shows as a page (and may run script in): HTML, XML and its dialects (XHTML, SVG,
# XSLT, any +xml), PDF (viewers run script), and multipart streams whose parts may be any of these.
_DOCUMENT_TYPES = frozenset({"application/pdf", "text/xsl", "text/vtt"})


def media_type(content_type: str | None) -> str:
    """The media type of a ``Content-Type`` value, lower-cased, without parameters."""
    return (content_type or "").split(";", 1)[0].strip().lower()


def renders_as_document(content_type: str | None) -> bool:
    """Whether a browser would render ``content_type`` as a document rather than show it as text."""
    media = media_type(content_type)
    return (
        "html" in media
        or "xml" in media
        or "svg" in media
        or media.startswith("multipart/")
        or media in _DOCUMENT_TYPES
    )
