# mk/python.mk -- the Python package `swiftpoll` (issue 3): bindings/python.
#
#   make test-python     the pytest suite (part of make test): API, errors,
#                        signals/PEP 475, misuse, hypothesis state machine,
#                        CPython's selector and asyncio suites on our selector,
#                        the asyncio example, pip install into a fresh venv
#   make bench-python    benchmarks against select.epoll / EpollSelector /
#                        the default asyncio loop; writes docs/BENCHMARKS-python.md
#   make python-wheel    build/python-wheels/swiftpoll-*.whl
#
# The tests run the sources in bindings/python/src against the library just
# built, through SWIFTPOLL_LIBRARY (the binding's first lookup place).

PIP_PACKAGES += pytest hypothesis wheel
TEST_TARGETS += test-python

PY_DIR     := $(CURDIR)/bindings/python
PY_LIB     := $(LIBDIR_B)/$(REALNAME)
PY_ENV     := SWIFTPOLL_LIBRARY=$(PY_LIB)
PY_BENCH_ARGS ?=

.PHONY: test-python bench-python bench-python-quick python-wheel

test-python: lib
	cd $(PY_DIR) && $(PY_ENV) $(PYTHON) -m pytest -q tests

bench-python: lib
	$(PY_ENV) PYTHONPATH=$(PY_DIR)/src $(PYTHON) $(CURDIR)/bench/python/run.py \
		--out $(CURDIR)/docs/BENCHMARKS-python.md $(PY_BENCH_ARGS)

bench-python-quick: lib
	$(PY_ENV) PYTHONPATH=$(PY_DIR)/src $(PYTHON) $(CURDIR)/bench/python/run.py --quick

python-wheel: lib
	$(PYTHON) -m pip wheel -q --no-deps --no-build-isolation --disable-pip-version-check \
		-w $(BUILD)/python-wheels $(PY_DIR)
