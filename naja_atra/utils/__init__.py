"""Small helpers shared by the framework: the logger API and module scanning."""
