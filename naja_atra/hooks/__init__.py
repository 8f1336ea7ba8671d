"""The plugin contract: the hook specifications (``specs``), their typed calls (``calls``),
the application's plugin manager (``manager``) and third-party plugins from entry points
(``entrypoints``). The built-in implementations are in ``naja_atra.plugins``.
"""
