# make env NAME=dev ACCOUNT=123456789012 REGION=eu-west-1 DOMAIN=api.example.com CERTIFICATE=arn:... - write a new environment (playbooks/init.yml)
# make demo  - provision and release the backend on the embedded emulator
# make test  - lint, unit, integration, system and molecule tests, from nothing
# make bench - converged and dry-run site.yml against the last commit before issue 17, and a release with deploy.yml against the ecs-deploy CLI
# make test-localstack - the roles LocalStack's free runtime can serve, on it instead of moto
# make test-ministack - the molecule scenarios MiniStack serves, on it instead of moto
SHELL := /bin/bash
PYTHON ?= python3
VENV ?= .venv
BIN := $(abspath $(VENV))/bin
# Every tool (ansible-playbook, molecule, ansible-config...) from the venv.
export PATH := $(BIN):$(PATH)
PYTEST_ARGS ?=

# Mitogen, opt-in (docs/tests.md#mitogen): `make test MITOGEN=1` (or make demo MITOGEN=1) runs every play under its
# mitogen_linear strategy, one Python per run instead of one per task (measured by make bench). ansible-core
# deprecates third-party strategy plugins, so it is never the default and nothing depends on it. Outside make:
# the two variables below, or ansible.cfg's commented strategy lines.
ifdef MITOGEN
export ANSIBLE_STRATEGY_PLUGINS = $(shell $(BIN)/python -c 'import ansible_mitogen, os; print(os.path.dirname(ansible_mitogen.__file__))')/plugins/strategy
export ANSIBLE_STRATEGY := mitogen_linear
endif

.PHONY: venv env demo test test-localstack test-ministack lint unit system molecule bench emulator-start emulator-stop docker-sandbox-start docker-sandbox-stop clean

venv: $(VENV)/.installed

$(VENV)/.installed: requirements.txt
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -r requirements.txt
	touch $@

# A new environment of your own: playbooks/init.yml with the values given here
# (optional: DOMAIN, CERTIFICATE, HTTPS=false, EMAIL, COMPUTE, CACHE, DATABASE, NAT, CIDR, PROJECT, MEDIA_BUCKET, MEDIA_REGION, PRODUCTION=true).
INIT_VARS := NAME:init_name ACCOUNT:init_account_id REGION:init_region DOMAIN:init_domain CERTIFICATE:init_certificate_arn \
	HTTPS:init_https EMAIL:init_alarm_email COMPUTE:init_compute CACHE:init_cache DATABASE:init_database NAT:init_nat \
	CIDR:init_vpc_cidr PROJECT:init_project MEDIA_BUCKET:init_media_bucket MEDIA_REGION:init_media_region PRODUCTION:init_production

env: venv
	$(BIN)/ansible-playbook playbooks/init.yml $(foreach v,$(INIT_VARS),$(if $($(word 1,$(subst :, ,$(v)))),-e $(word 2,$(subst :, ,$(v)))='$($(word 1,$(subst :, ,$(v))))'))

demo: venv
	$(BIN)/python scripts/demo

lint: venv
	$(BIN)/yamllint --strict .
	$(BIN)/ansible-lint
	$(BIN)/ruff check .

# Two workers (the machine's cores; a third made every test about twice as slow,
# measured), by scope: a system journey module or example class runs in order on
# one worker, each molecule scenario (a class) on its own emulator;
# tests/conftest.py hands the longest scopes out first.
PYTEST_WORKERS ?= 2

test: lint
	$(BIN)/python -m pytest --numprocesses=$(PYTEST_WORKERS) --dist=loadscope --durations=30 $(PYTEST_ARGS)

unit: venv
	$(BIN)/python -m pytest tests/unit tests/integration $(PYTEST_ARGS)

system: venv
	$(BIN)/python -m pytest tests/system $(PYTEST_ARGS)

molecule: venv
	$(BIN)/python -m pytest tests/molecule $(PYTEST_ARGS)

# The molecule scenarios of the roles whose services LocalStack's free runtime has (EC2, S3),
# one after another, each on its own LocalStack (scripts/emulator --engine localstack: its own
# venv on Python 3.12+ in .tmp/localstack-venv, made on first use) on LOCALSTACK_PORT.
LOCALSTACK_SCENARIOS ?= vpc security_groups s3_envfile
LOCALSTACK_PORT ?= 4700

test-localstack: venv
	set -e; for scenario in $(LOCALSTACK_SCENARIOS); do \
	    WANZAMI_EMULATOR_ENGINE=localstack WANZAMI_MOLECULE_PORT=$(LOCALSTACK_PORT) \
	        $(BIN)/molecule test -s $$scenario; \
	done

# The molecule scenarios MiniStack (a second emulator, written by others; scripts/emulator --engine
# ministack, its own venv in .tmp/ministack-venv made on first use) serves, one after another, each
# on its own MiniStack on MINISTACK_PORT. Seed 000's production journey and the public_aurora_cron
# example run on it inside make test (tests/system/test_production.py, test_examples.py); the
# emulator notes (docs/emulator.md) say why rds, rds_aurora, valkey and observability are not in this list.
MINISTACK_SCENARIOS ?= vpc security_groups ecr s3_envfile ecs_cluster ecs_service release
MINISTACK_PORT ?= 4701

test-ministack: venv
	set -e; for scenario in $(MINISTACK_SCENARIOS); do \
	    WANZAMI_EMULATOR_ENGINE=ministack WANZAMI_MOLECULE_PORT=$(MINISTACK_PORT) \
	        $(BIN)/molecule test -s $$scenario; \
	done

# deploy.yml against ecs-deploy (installed in its own venv: its boto3 is not ours).
BENCH_VENV := .tmp/bench-venv
ECS_DEPLOY_VERSION := 1.17.0

$(BENCH_VENV)/bin/ecs:
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_VENV)/bin/python -m pip install --quiet ecs-deploy==$(ECS_DEPLOY_VERSION)

bench: venv $(BENCH_VENV)/bin/ecs
	$(BIN)/python scripts/bench --ecs $(BENCH_VENV)/bin/ecs

emulator-start: venv
	$(BIN)/python scripts/emulator start

emulator-stop: venv
	$(BIN)/python scripts/emulator stop

# A private dockerd and a registry on 127.0.0.1:5000 (for building releases by hand).
docker-sandbox-start: venv
	$(BIN)/python scripts/docker-sandbox start

docker-sandbox-stop: venv
	$(BIN)/python scripts/docker-sandbox stop

clean:
	rm -rf $(VENV) .tmp .pytest_cache .ruff_cache
