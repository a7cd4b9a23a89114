# frozen_string_literal: true

require_relative "test_helper"

# One nio4r program, run against the real nio4r (Debian's ruby-nio4r, libev)
# and against swiftpoll/nio in separate processes: same output.
class TestNIOCompat < Minitest::Test
  PROGRAM = File.expand_path("nio_program.rb", __dir__)

  def test_same_output_as_nio4r
    real = IO.popen([RUBY, "-e", "require 'nio'; puts NIO.engine"], err: File::NULL, &:read)
    skip "nio4r (ruby-nio4r) is not installed" unless $?.success? && real.strip == "libev"

    expected = IO.popen([RUBY, PROGRAM], err: %i[child out], &:read)
    assert $?.success?, expected
    ours = IO.popen([RUBY, "-I", LIB, "-rswiftpoll/nio", PROGRAM], err: %i[child out], &:read)
    assert $?.success?, ours
    assert_operator expected.lines.size, :>=, 40
    assert_equal expected, ours
  end
end
