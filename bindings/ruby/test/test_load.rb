# frozen_string_literal: true

require_relative "test_helper"
require "tmpdir"

# The library lookup (SWIFTPOLL_LIBRARY, the copy bundled in the gem, the
# system's loader path), its errors and the ABI check, each in a child process.
class TestLoad < Minitest::Test
  PRINT = 'require "swiftpoll"; puts SwiftPoll::Native.origin, SwiftPoll.library_path'

  def stage_lib_dir
    File.dirname(ENV.fetch("SWIFTPOLL_LIBRARY"))
  end

  def test_swiftpoll_library_is_tried_alone
    out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => "/nonexistent/libswiftpoll.so",
                                         "LD_LIBRARY_PATH" => stage_lib_dir })
    refute status.success?
    assert_match(/LoadError/, out)
    assert_match(%r{/nonexistent/libswiftpoll.so \(SWIFTPOLL_LIBRARY\)}, out)
    refute_match(/system loader path/, out, "an explicit choice is never replaced")
  end

  def test_every_place_tried_is_named
    out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => nil, "LD_LIBRARY_PATH" => nil })
    skip "a libswiftpoll is installed system-wide here" if status.success?
    assert_match(/bundled in the gem\): not there/, out)
    assert_match(/libswiftpoll.so.0 \(system loader path\)/, out)
    assert_match(/libswiftpoll.so \(system loader path\)/, out)
    assert_match(/SWIFTPOLL_LIBRARY/, out)
  end

  def test_the_system_loader_path
    out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => nil, "LD_LIBRARY_PATH" => stage_lib_dir })
    assert status.success?, out
    assert_equal ["system loader path", "libswiftpoll.so.0"], out.lines.map(&:strip)
  end

  def test_not_a_libswiftpoll
    out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => "libm.so.6" })
    refute status.success?
    assert_match(/libm.so.6 is not a libswiftpoll/, out)
  end

  def fake_library(dir, abi)
    src = File.join(dir, "fake#{abi}.c")
    File.write(src, "unsigned swiftpoll_abi_version(void) { return #{abi}; }\n")
    lib = File.join(dir, "libfake#{abi}.so")
    skip "no C compiler" unless system("cc", "-shared", "-fPIC", "-o", lib, src, err: File::NULL)
    lib
  end

  def test_another_abi_version_is_refused
    Dir.mktmpdir do |dir|
      out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => fake_library(dir, 2) })
      refute status.success?
      assert_match(/has C ABI version 2, this gem needs version 1/, out)
    end
  end

  def test_a_library_missing_functions_is_refused
    Dir.mktmpdir do |dir|
      out, status = run_ruby(PRINT, env: { "SWIFTPOLL_LIBRARY" => fake_library(dir, 1) })
      refute status.success?
      assert_match(/is not a usable libswiftpoll: unknown symbol "swiftpoll_version" \(LoadError\)/, out)
    end
  end
end
