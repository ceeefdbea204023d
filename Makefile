# One entry point for chores; CI calls these same targets.
.PHONY: setup demo test lint typecheck bench fmt clean

setup:
	scripts/setup.sh dev,postgres,brokers

demo:
	scripts/demo.sh

test:
	scripts/test.sh

lint:
	scripts/setup.sh dev,postgres,brokers
	.venv/bin/ruff check src tests benchmarks
	.venv/bin/ruff format --check src tests benchmarks

fmt:
	.venv/bin/ruff format src tests benchmarks
	.venv/bin/ruff check --fix src tests benchmarks

typecheck:
	scripts/setup.sh dev,postgres,brokers
	.venv/bin/mypy

bench:
	scripts/setup.sh dev,postgres,brokers
	.venv/bin/riskdesk bench pricing
	.venv/bin/riskdesk bench analytics
	.venv/bin/riskdesk bench service

clean:
	rm -rf .venv .cache build dist *.egg-info
