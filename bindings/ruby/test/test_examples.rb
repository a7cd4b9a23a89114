# frozen_string_literal: true

require_relative "test_helper"

# examples/echo_server.rb checks itself; here it must exit 0 and say so.
class TestExamples < Minitest::Test
  def test_echo_server
    out = IO.popen([RUBY, "-I", LIB, File.join(ROOT, "examples", "echo_server.rb")], err: %i[child out], &:read)
    assert $?.success?, out
    assert_equal 3, out.scan(/: ok$/).size, out
  end
end
