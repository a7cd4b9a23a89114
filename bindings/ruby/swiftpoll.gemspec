# frozen_string_literal: true

require_relative "lib/swiftpoll/version"

# Build with `make ruby-gem` (from the repository root): it copies the built
# library to lib/swiftpoll/libswiftpoll.so and the repository's LICENSE here
# before `gem build`, so that the gem carries both.  Built by hand, without
# them, the gem finds the library through SWIFTPOLL_LIBRARY or the system's
# loader path.
Gem::Specification.new do |s|
  s.name = "swiftpoll"
  s.version = SwiftPoll::VERSION
  s.summary = "mio's readiness poller (Poll, Registry, Events, Waker) for Ruby, and an nio4r-compatible NIO::Selector"
  s.description = "A Fiddle binding of libswiftpoll (epoll / poll(2)): Poll, Registry, Events, Event, " \
                  "Interest and Waker as in Rust's mio, with GVL-free waits, plus `require \"swiftpoll/nio\"`, " \
                  "a drop-in for nio4r's NIO::Selector and NIO::Monitor.  No C extension to compile."
  s.authors = ["swiftpoll developers"]
  s.license = "MIT"
  s.required_ruby_version = ">= 3.1"
  s.platform = Gem::Platform::RUBY

  here = __dir__
  files = Dir.chdir(here) { Dir["lib/**/*.rb"] } + ["README.md", "swiftpoll.gemspec"]
  files << "lib/swiftpoll/libswiftpoll.so" if File.exist?(File.join(here, "lib/swiftpoll/libswiftpoll.so"))
  files << "LICENSE" if File.exist?(File.join(here, "LICENSE"))
  s.files = files.sort
  s.require_paths = ["lib"]
  s.add_dependency "fiddle", ">= 1.1"
end
