# mk/python.mk -- the Python package `swiftpoll` (issues 3, 8, 10): bindings/python.
#
#   make test-python     (part of make test) the pytest suite once per CPython >= 3.9
#                        on the machine (pyenv's versions, python3.N on PATH), each in
#                        its own venv under build/python-venvs, over epoll and poll(2):
#                        bindings/python/tools/matrix.py says what runs where
#                        (docs/PYTHON.md: the plan and its measured times); the suite
#                        holds API, errors, signals/PEP 475, misuse, the hypothesis
#                        state machine, CPython's selector and asyncio suites on our
#                        selector, the asyncio entry points, backends, garbage, the
#                        examples, pip install into a fresh venv.  Ends with
#                        "python-matrix: N passed, N failed" (runs).
#   make test-python-one the suite once, on $(PYTHON) over the default backend
#   make bench-python    benchmarks against select.epoll / EpollSelector /
#                        the default asyncio loop; writes docs/BENCHMARKS-python.md
#   make python-wheel    build/python-wheels/swiftpoll-*.whl
#
# The tests run the sources in bindings/python/src against the library just
# built, through SWIFTPOLL_LIBRARY (the binding's first lookup place).
# PY_JOBS runs of the matrix go side by side (their output stays in order);
# PY_BACKENDS=epoll leaves poll(2) out; SWIFTPOLL_PYTHONS="path ..." picks the
# interpreters by hand.

# pytest/hypothesis/wheel for test-python-one and python-wheel on $(PYTHON);
# the matrix's venvs get theirs from bindings/python/requirements-test.txt.
PIP_PACKAGES += pytest hypothesis wheel
APT_PACKAGES += python3-venv
TEST_TARGETS += test-python

PY_DIR     := $(CURDIR)/bindings/python
PY_LIB     := $(LIBDIR_B)/$(REALNAME)
PY_ENV     := SWIFTPOLL_LIBRARY=$(PY_LIB)
PY_BENCH_ARGS ?=
PY_JOBS    ?= 2
PY_BACKENDS ?= epoll,poll

.PHONY: test-python test-python-one bench-python bench-python-quick python-wheel

test-python: lib
	$(PYTHON) $(PY_DIR)/tools/matrix.py --library $(PY_LIB) --venvs $(BUILD)/python-venvs \
		--jobs $(PY_JOBS) --backends $(PY_BACKENDS)

test-python-one: lib
	cd $(PY_DIR) && $(PY_ENV) $(PYTHON) -m pytest -q tests

bench-python: lib
	$(PY_ENV) PYTHONPATH=$(PY_DIR)/src $(PYTHON) $(CURDIR)/bench/python/run.py \
		--out $(CURDIR)/docs/BENCHMARKS-python.md $(PY_BENCH_ARGS)

bench-python-quick: lib
	$(PY_ENV) PYTHONPATH=$(PY_DIR)/src $(PYTHON) $(CURDIR)/bench/python/run.py --quick

python-wheel: lib
	$(PYTHON) -m pip wheel -q --no-deps --no-build-isolation --disable-pip-version-check \
		-w $(BUILD)/python-wheels $(PY_DIR)
