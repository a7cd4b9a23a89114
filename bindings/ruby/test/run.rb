# frozen_string_literal: true

# ruby test/run.rb [FILE...] [minitest options]: the given test files (default:
# every test_*.rb) in one minitest run, one summary line.
files, options = ARGV.partition { |a| a.end_with?(".rb") }
files = Dir[File.join(__dir__, "test_*.rb")] if files.empty?
ARGV.replace(options)
files.map { |f| File.expand_path(f) }.sort.each { |f| require f }
