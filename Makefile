# Two commands on a fresh machine:  make run  (the unit)   make test  (the suite)
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.statim-installed

.PHONY: setup run test bench bench-quick clean

NODE_STAMP := emulator/rp2040/node_modules/.package-lock.json

setup: $(STAMP) $(NODE_STAMP)

$(STAMP): pyproject.toml setup.py $(wildcard firmware/core_c/*.c firmware/core_c/*.h)
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip setuptools wheel cffi
	$(BIN)/python -m pip install -q -e '.[test]'
	$(BIN)/python -m pip install -q --no-user --upgrade --target $(VENV)/mpy-typings \
		micropython-rp2-rpi-pico-stubs micropython-stdlib-stubs
	touch $@

# The emulated Pico (emulator/rp2040) needs npm rp2040js; without Node its tests skip, naming why.
$(NODE_STAMP): emulator/rp2040/package-lock.json
	@if command -v npm >/dev/null 2>&1; then npm ci --prefix emulator/rp2040 --no-audit --no-fund --loglevel=error; \
	else echo "npm not found: skipping emulator/rp2040 (the emulated-Pico tests will skip)"; fi

run: setup
	$(BIN)/statim run

test: setup
	$(BIN)/python -m pytest -q

bench: setup
	$(BIN)/python -m pytest benchmarks -q --benchmark-only -o python_files='bench_*.py'

bench-quick: setup
	$(BIN)/python -m pytest benchmarks -q --benchmark-only -o python_files='bench_*.py' --quick

clean:
	rm -rf $(VENV) build *.egg-info firmware/core_c/_core*.so firmware/core_c/_core.c \
		firmware/core_c/natmod/build firmware/core_c/natmod/.mpy_ld_cache
