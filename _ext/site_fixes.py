"""Small fixes to the HTML the theme stack emits, so that pages load without console errors.

sphinx-thebe 0.3.1 registers its inline ``const THEBE_JS_URL = ...`` script after
the builder has started, and Sphinx 7.4 then lists it twice in every page's
``<head>``: the second copy throws "Identifier 'THEBE_JS_URL' has already been
declared". This extension drops duplicate script entries from each page's context.
"""

from __future__ import annotations


def dedupe_scripts(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (
            getattr(script, "filename", str(script)) or "",
            tuple(sorted(getattr(script, "attributes", {}).items())),
        )
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"][:] = unique


def setup(app):
    app.connect("html-page-context", dedupe_scripts)
    return {"version": "0.1", "parallel_read_safe": True, "parallel_write_safe": True}
