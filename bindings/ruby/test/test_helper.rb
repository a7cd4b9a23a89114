# frozen_string_literal: true

# The suite runs against the library named by SWIFTPOLL_LIBRARY (make test-ruby
# points it at a staged install), with the gem's lib/ first on the load path.
$LOAD_PATH.unshift File.expand_path("../lib", __dir__)
require "minitest/autorun"
require "socket"
require "timeout"
require "rbconfig"
require "swiftpoll"

module SwiftPollTestHelper
  RUBY = RbConfig.ruby
  LIB = File.expand_path("../lib", __dir__)
  ROOT = File.expand_path("../../..", __dir__)

  # a bound on every wait that should end: the test fails instead of hanging
  def bounded(seconds = 10, &block)
    Timeout.timeout(seconds, &block)
  end

  def open_fds
    Dir.children("/proc/self/fd").size
  end

  def monotonic
    Process.clock_gettime(Process::CLOCK_MONOTONIC)
  end

  # runs ruby with the gem's lib on the load path; returns [stdout+stderr, status]
  def run_ruby(code, env: {}, args: [])
    out = IO.popen(env, [RUBY, "-I", LIB, *args, "-e", code], err: %i[child out], &:read)
    [out, $?]
  end

  def wait_until(seconds = 5)
    deadline = monotonic + seconds
    until yield
      raise "condition not met in #{seconds} s" if monotonic > deadline

      sleep 0.005
    end
  end
end

class Minitest::Test
  include SwiftPollTestHelper
end
