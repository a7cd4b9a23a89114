# mk/ruby.mk -- the Ruby gem `swiftpoll` (issue 9): bindings/ruby, on Fiddle.
#
#   make test-ruby     (part of make test) the minitest suite against a staged
#                      install (build/stage-ruby) through SWIFTPOLL_LIBRARY: the
#                      whole suite over the default backend (epoll), then the
#                      backend-dependent files again with SWIFTPOLL_BACKEND=poll
#   make examples      also runs examples/echo_server.rb (examples-ruby)
#   make bench-ruby    (part of make bench) bench/ruby/run.rb: SwiftPoll::Poll and
#                      NIO::Selector (ours) against nio4r's libev selector and
#                      IO.select; writes docs/BENCHMARKS-ruby.md
#   make ruby-gem      build/ruby-gems/swiftpoll-VERSION.gem (library and LICENSE inside)

APT_PACKAGES += ruby ruby-rubygems ruby-minitest ruby-nio4r gcc
TEST_TARGETS += test-ruby

RUBY         ?= ruby
RUBY_DIR     := $(CURDIR)/bindings/ruby
RUBY_STAGE   := $(BUILD)/stage-ruby
RUBY_LIB     := $(RUBY_STAGE)/lib/$(LIBNAME)
RUBY_ENV     := SWIFTPOLL_LIBRARY=$(RUBY_LIB)
# the files whose behaviour depends on the backend: run over each one
RUBY_BACKEND_TESTS := test_poll.rb test_errors.rb test_lifetime.rb test_threads_signals.rb test_nio.rb test_misuse.rb \
	test_nio_compat.rb
RUBY_BENCH_ARGS ?=

.PHONY: test-ruby examples-ruby bench-ruby ruby-gem ruby-stage

examples: examples-ruby
bench: bench-ruby

ruby-stage:
	@$(MAKE) --no-print-directory stage STAGE=$(RUBY_STAGE)

test-ruby: ruby-stage
	cd $(RUBY_DIR) && env -u SWIFTPOLL_BACKEND $(RUBY_ENV) $(RUBY) -w test/run.rb
	cd $(RUBY_DIR) && SWIFTPOLL_BACKEND=poll $(RUBY_ENV) $(RUBY) -w test/run.rb \
		$(addprefix test/,$(RUBY_BACKEND_TESTS))

examples-ruby: ruby-stage
	@echo "== examples/echo_server.rb (SWIFTPOLL_LIBRARY=$(RUBY_LIB))"
	@$(RUBY_ENV) timeout 60 $(RUBY) -I$(RUBY_DIR)/lib $(CURDIR)/examples/echo_server.rb

bench-ruby: ruby-stage
	$(RUBY_ENV) $(RUBY) -I$(RUBY_DIR)/lib $(CURDIR)/bench/ruby/run.rb \
		--rounds 7 --out $(CURDIR)/docs/BENCHMARKS-ruby.md --command "make bench-ruby" $(RUBY_BENCH_ARGS)

ruby-gem: lib
	$(RUBY) $(RUBY_DIR)/build_gem.rb --lib $(LIBDIR_B)/$(REALNAME) --out $(BUILD)/ruby-gems
