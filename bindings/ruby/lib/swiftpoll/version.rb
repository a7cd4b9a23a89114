# frozen_string_literal: true

module SwiftPoll
  # The gem's version (the library's, as in include/swiftpoll.h).
  VERSION = "0.1.0"
end
