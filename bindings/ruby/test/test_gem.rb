# frozen_string_literal: true

require_relative "test_helper"
require "tmpdir"
require "rubygems/package"

# The gem builds, carries the library and LICENSE, installs, and finds its
# bundled library when SWIFTPOLL_LIBRARY is not set.
class TestGem < Minitest::Test
  BUILD = File.expand_path("../build_gem.rb", __dir__)

  def library
    ENV.fetch("SWIFTPOLL_LIBRARY")
  end

  def build(out, *extra)
    res = IO.popen([RUBY, BUILD, "--lib", File.realpath(library), "--out", out, *extra], err: %i[child out], &:read)
    assert $?.success?, res
    res.lines.last.strip
  end

  def test_build_with_library_and_license_then_install_and_load
    Dir.mktmpdir do |dir|
      license = File.join(dir, "LICENSE.txt")
      File.write(license, "MIT License\n")
      gem = build(File.join(dir, "out"), "--license", license)
      assert_match(/swiftpoll-#{Regexp.escape(SwiftPoll::VERSION)}\.gem\z/, gem)
      files = Gem::Package.new(gem).contents
      %w[LICENSE README.md lib/swiftpoll.rb lib/swiftpoll/nio.rb lib/swiftpoll/libswiftpoll.so].each do |f|
        assert_includes files, f
      end

      home = File.join(dir, "home")
      out = IO.popen({ "GEM_HOME" => home }, ["gem", "install", "--local", "--no-document",
                                               "--ignore-dependencies", "--install-dir", home, gem],
                     err: %i[child out], &:read)
      assert $?.success?, out
      env = { "GEM_HOME" => home, "GEM_PATH" => home, "SWIFTPOLL_LIBRARY" => nil }
      code = 'require "swiftpoll"; puts SwiftPoll::Native.origin, SwiftPoll.library_path; ' \
             'SwiftPoll::Poll.open { |p| puts p.backend }'
      out = IO.popen(env, [RUBY, "-e", code], err: %i[child out], &:read)
      assert $?.success?, out
      origin, path, = out.lines.map(&:strip)
      assert_equal "bundled in the gem", origin
      assert path.start_with?(home), path
    end
  end

  def test_the_repositorys_license_is_shipped_when_it_has_one
    Dir.mktmpdir do |dir|
      files = Gem::Package.new(build(dir)).contents
      if File.file?(File.join(ROOT, "LICENSE"))
        assert_includes files, "LICENSE"
      else
        refute_includes files, "LICENSE"
      end
    end
  end
end
