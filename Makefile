# The two set-up commands of README: `make demo` (main job) and `make test`.
# Both create .venv in the repository root if needed and install everything into it.
.PHONY: venv demo test lint wheels bench clean

venv:
	@bash scripts/bootstrap.sh

demo: venv
	.venv/bin/trackerzoo demo

test: venv
	.venv/bin/python -m ruff check .
	.venv/bin/python -m pytest -q

wheels: venv
	bash scripts/build_wheels.sh

bench: venv
	.venv/bin/python -m pytest benchmarks -q

clean:
	rm -rf build dist *.egg-info trackerzoo/_C*.so
