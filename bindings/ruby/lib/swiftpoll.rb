# frozen_string_literal: true

# swiftpoll: a readiness poller in the model of Rust's mio (Poll, Registry,
# Events, Event, Interest, Waker) over libswiftpoll, through Fiddle.
# `require "swiftpoll/nio"` adds an nio4r-compatible NIO::Selector.
require_relative "swiftpoll/version"
require_relative "swiftpoll/native"
require_relative "swiftpoll/interest"
require_relative "swiftpoll/events"
require_relative "swiftpoll/poll"

module SwiftPoll
  # The loaded library's version string, e.g. "0.1.0".
  def self.library_version = Native.cstring(Native::VERSION_FN.call)

  # Where the library was loaded from.
  def self.library_path = Native.path
end
