# Quick local checks (the same ones CI runs); `make check` takes a few seconds.
.PHONY: check format test
check:
	.venv/bin/ruff check .
	.venv/bin/ruff format --check .
	.venv/bin/mypy blog plugins
format:
	.venv/bin/ruff check --fix .
	.venv/bin/ruff format .
test:
	./scripts/test
