"""The dossier pages: residents file and follow their dossiers (``resident``), anyone looks one up by code
and phone (``public``), staff work the one-stop desk (``desk``). Thin: parse, call a service or selector,
render."""
