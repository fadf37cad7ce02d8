from wizardcoder.cli import run

run()
