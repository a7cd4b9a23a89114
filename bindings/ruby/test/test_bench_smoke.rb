# frozen_string_literal: true

require_relative "test_helper"

# bench/ruby/run.rb at tiny counts, so that the benchmarks cannot rot: every
# workload of every implementation runs and gives a row.
class TestBenchSmoke < Minitest::Test
  def test_every_row_runs
    run = File.join(ROOT, "bench", "ruby", "run.rb")
    out = IO.popen([RUBY, "-I", LIB, run, "--smoke"], err: %i[child out], &:read)
    assert $?.success?, out
    %w[ring burst ring-idle burst-poll].each do |w|
      assert_match(/^\| #{w} \| NIO::Selector \(swiftpoll\/nio\) \| [\d,]+ /, out)
      assert_match(/^\| #{w} \| SwiftPoll::Poll \| [\d,]+ /, out)
    end
    assert_match(/^\| ring \| IO.select \| [\d,]+ /, out)
    assert_match(/Fiddle call of an empty C function.* \| \d+ \|$/, out)
  end
end
