# frozen_string_literal: true

module SwiftPoll
  # The gem's version (the library's, as in include/swiftpoll.h).
  VERSION = "0.2.0"
end
