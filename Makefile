# Every target installs what it needs from Pipfile.lock first, so each works on a fresh clone.
export PIPENV_VENV_IN_PROJECT := 1
export PIPENV_NOSPIN := 1
export PIPENV_YES := 1
PIPENV := python3 -m pipenv

.PHONY: setup run test check proto bench emulators

setup:
	@python3 -m pipenv --version >/dev/null 2>&1 || python3 -m pip install --quiet pipenv
	$(PIPENV) sync --dev

## The main job on the embedded default: refresh coins, print a sample answer, serve until Ctrl-C.
run: setup
	$(PIPENV) run delos run

## Lint, type-check, static checks and the whole test suite (emulators started by the tests).
test: setup
	scripts/install_tools
	$(PIPENV) run scripts/check
	$(PIPENV) run scripts/static_checks
	$(PIPENV) run pytest

check: setup
	$(PIPENV) run scripts/check

proto: setup
	$(PIPENV) run scripts/gen_proto

bench: setup
	$(PIPENV) run python -m bench

emulators: setup
	$(PIPENV) run scripts/emulators
