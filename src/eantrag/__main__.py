from eantrag.cli import app

app(prog_name="eantrag")
