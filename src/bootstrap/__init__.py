"""The composition root: assembles the infrastructure (`eantrag`) and the contexts into the HTTP
app, the command line and the workers. Nothing imports this package but the entry points."""
