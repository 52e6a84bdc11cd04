# The two commands a newcomer needs: `make demo` and `make test`. Everything else is what they are made of.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(shell cksum pyproject.toml | cut -d' ' -f1)
PROFILE ?= rs
DEMO_LANG_rs := sr
DEMO_LANG_tm := tk
DEMO_DB := sqlite+aiosqlite:///$(CURDIR)/var/demo-$(PROFILE).sqlite3
BABEL_KEYWORDS := -k N_ -k _ -k ngettext:1,2 -k pgettext:1c,2

.PHONY: install demo demo-admin test lint typecheck locales locales-compile bench clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	@rm -f $(VENV)/.installed-* && touch $@

install: $(STAMP) locales-compile

## Compile the catalogs (and derive Serbian Cyrillic from the Latin one). Never edit .mo files by hand.
locales-compile: $(STAMP)
	@$(BIN)/python -m bot.core.catalogs >/dev/null

## Extract every msgid from the code, merge into the sr and tk catalogs, compile.
locales: $(STAMP)
	$(BIN)/pybabel extract -F babel.cfg $(BABEL_KEYWORDS) --add-comments=Translators: --no-location \
		--sort-output --project=mila -o locales/messages.pot .
	for lang in sr tk; do \
		$(BIN)/pybabel update -i locales/messages.pot -d locales -D messages -l $$lang \
			--no-fuzzy-matching --ignore-obsolete --no-wrap; \
	done
	$(MAKE) locales-compile

## A chat with the bot in this terminal, on embedded defaults (no Redis server, a SQLite file under var/).
demo: install
	DATABASE_URL=$(DEMO_DB) $(BIN)/mila db upgrade
	DATABASE_URL=$(DEMO_DB) $(BIN)/mila db seed-demo --profile $(PROFILE)
	DATABASE_URL=$(DEMO_DB) $(BIN)/mila chat --profile $(PROFILE) --lang $(DEMO_LANG_$(PROFILE))

## The web console on the demo data plus 30 days of invented history, with a demo user (on loopback only).
DEMO_ADMIN_USER := demo
DEMO_ADMIN_PASSWORD := mila-demo-console
demo-admin: install
	DATABASE_URL=$(DEMO_DB) $(BIN)/mila db upgrade
	DATABASE_URL=$(DEMO_DB) $(BIN)/mila db seed-demo --profile $(PROFILE) --history
	@DATABASE_URL=$(DEMO_DB) $(BIN)/mila admin remove-user $(DEMO_ADMIN_USER) >/dev/null 2>&1 || true
	@echo $(DEMO_ADMIN_PASSWORD) | DATABASE_URL=$(DEMO_DB) $(BIN)/mila admin add-user $(DEMO_ADMIN_USER) \
		--role admin --password-stdin
	@echo "log in as $(DEMO_ADMIN_USER) with the password $(DEMO_ADMIN_PASSWORD)"
	DATABASE_URL=$(DEMO_DB) ADMIN_HOST=127.0.0.1 $(BIN)/mila admin serve --profile $(PROFILE)

## ruff, mypy and the whole test suite against the real Redis and PostgreSQL servers.
test: install
	@bash tools/run-tests.sh

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typecheck: $(STAMP)
	$(BIN)/mypy

bench: install
	@for b in $$(grep -l '^if __name__ == "__main__":' bench/*.py); do echo "== $$b"; $(BIN)/python $$b || exit 1; done

clean:
	rm -rf $(VENV) var .mypy_cache .ruff_cache .pytest_cache locales/*/LC_MESSAGES/*.mo locales/sr_Cyrl
