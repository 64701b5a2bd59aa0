from bootstrap.cli import app

app(prog_name="eantrag")
