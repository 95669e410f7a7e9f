"""A single-page tool (FastAPI) whose ``fetch`` and ``XMLHttpRequest`` calls carry the ltik (``ltik.js``)."""
