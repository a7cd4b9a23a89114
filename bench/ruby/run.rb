# frozen_string_literal: true

# Ruby benchmarks: SwiftPoll::Poll and swiftpoll's NIO::Selector side by side
# with nio4r's libev selector (Debian's ruby-nio4r) and IO.select, in one run.
#
#   make bench-ruby        # 5 rounds, writes docs/BENCHMARKS-ruby.md
#   SWIFTPOLL_LIBRARY=build/lib/libswiftpoll.so ruby -Ibindings/ruby/lib bench/ruby/run.rb \
#       [--rounds 5] [--quick] [--smoke] [--out FILE] [--command "how it was run"]
#
# Every measurement is a process of its own (bench/ruby/workloads.rb): nio4r
# and swiftpoll/nio both define ::NIO and cannot share one.  Rounds are
# interleaved (every implementation once per round, in turn) so that drift
# on this shared machine hits all alike; the table gives the median rate of
# each, its spread and the ratios of the medians.  Rates are per second of
# process CPU time (user + system).
require "optparse"
require "rbconfig"
require "etc"

HERE = __dir__
ROOT = File.expand_path("../..", HERE)
LIB = File.join(ROOT, "bindings", "ruby", "lib")
WORKER = File.join(HERE, "workloads.rb")
RUBY = RbConfig.ruby

IMPLS = {
  "poll" => { label: "SwiftPoll::Poll", flags: ["-I", LIB, "-rswiftpoll"] },
  "nio-ours" => { label: "NIO::Selector (swiftpoll/nio)", flags: ["-I", LIB, "-rswiftpoll/nio"] },
  "nio4r" => { label: "NIO::Selector (nio4r, libev)", flags: ["-rnio"] },
  "io-select" => { label: "IO.select", flags: [] },
}.freeze

# workload, unit, count at full scale, implementations, targets (impl => text)
WORKLOADS = [
  ["ring", "hops/s", 60_000, %w[nio4r nio-ours poll io-select],
   { "nio-ours" => ">= 0.8x nio4r" }],
  ["burst", "events/s", 400, %w[nio4r nio-ours poll io-select],
   { "nio-ours" => ">= 1.0x nio4r" }],
  ["ring-idle", "hops/s", 20_000, %w[nio4r nio-ours poll io-select],
   { "nio-ours" => "ahead of IO.select" }],
  ["burst-poll", "events/s", 400, %w[nio4r nio-ours poll], {}],
].freeze

opts = { rounds: 5, scale: 1.0, out: nil, command: nil, smoke: false }
OptionParser.new do |o|
  o.on("--rounds N", Integer) { |v| opts[:rounds] = v }
  o.on("--quick", "a tenth of the counts") { opts[:scale] = 0.1 }
  o.on("--smoke", "tiny counts, one round: checks that every workload runs") do
    opts[:smoke] = true
    opts[:scale] = 0.01
    opts[:rounds] = 1
  end
  o.on("--out FILE") { |v| opts[:out] = v }
  o.on("--command TEXT") { |v| opts[:command] = v }
end.parse!

def run_child(flags, args)
  out = IO.popen([RUBY, *flags, WORKER, *args], err: %i[child out], &:read)
  raise "#{args.join(' ')} failed:\n#{out}" unless $?.success?

  out
end

def median(values)
  s = values.sort
  n = s.size
  n.odd? ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2.0
end

def fmt(rate) = rate.round.to_s.reverse.scan(/\d{1,3}/).join(",").reverse

nio4r_ok = system(RUBY, "-e", "require 'nio'; exit(NIO.engine == 'libev')", err: File::NULL)
rates = Hash.new { |h, k| h[k] = [] }
opts[:rounds].times do |round|
  WORKLOADS.each do |name, _unit, count, impls, _targets|
    n = [(count * opts[:scale]).round, 2].max
    impls.each do |impl|
      next if impl == "nio4r" && !nio4r_ok

      rate = Float(run_child(IMPLS[impl][:flags], [impl, name, n.to_s]).lines.last)
      rates[[name, impl]] << rate
    end
  end
  warn "round #{round + 1}/#{opts[:rounds]} done"
end

costs = []
cost_rounds = opts[:smoke] ? 1 : 7
[IMPLS["nio-ours"][:flags], IMPLS["nio4r"][:flags], []].each do |flags|
  next if flags == IMPLS["nio4r"][:flags] && !nio4r_ok

  run_child(flags, ["costs", cost_rounds.to_s, opts[:smoke] ? "500" : "50000"]).each_line do |line|
    ns, name = line.strip.split(" ", 2)
    costs << [name, Integer(ns)] unless costs.any? { |c, _| c == name }
  end
end

rows = []
WORKLOADS.each do |name, unit, _count, impls, targets|
  base = rates[[name, "nio4r"]].empty? ? nil : median(rates[[name, "nio4r"]])
  sel = rates[[name, "io-select"]].empty? ? nil : median(rates[[name, "io-select"]])
  impls.each do |impl|
    r = rates[[name, impl]]
    next if r.empty?

    med = median(r)
    spread = r.size > 1 ? (r.max - r.min) / med * 100 : 0
    rows << [name, IMPLS[impl][:label], "#{fmt(med)} #{unit}", format("%.0f%%", spread),
             base ? format("%.2fx", med / base) : "-", sel ? format("%.2fx", med / sel) : "-",
             targets.fetch(impl, "")]
  end
end

table = +"| workload | implementation | median rate | spread | vs nio4r | vs IO.select | target |\n"
table << "|---|---|---:|---:|---:|---:|---|\n"
rows.each { |r| table << "| #{r.join(' | ')} |\n" }
# the target rows round by round (the same round of both sides): how the
# ratio scatters on this machine
per_round = +""
WORKLOADS.each do |name, _unit, _count, _impls, targets|
  targets.each do |impl, target|
    other = target.include?("IO.select") ? "io-select" : "nio4r"
    ours = rates[[name, impl]]
    base = rates[[name, other]]
    next if ours.empty? || base.empty?

    ratios = ours.zip(base).map { |a, b| format("%.2f", a / b) }
    per_round << "- #{name}, #{IMPLS[impl][:label]} / #{IMPLS[other][:label]}, round by round: " \
                 "#{ratios.join(', ')}\n"
  end
end
table << "\n" << per_round unless per_round.empty?
cost_table = +"| call | ns |\n|---|---:|\n"
costs.each { |name, ns| cost_table << "| #{name} | #{ns} |\n" }

puts table
puts
puts cost_table

exit unless opts[:out]

lib_version = IO.popen({ "RUBYLIB" => LIB }, [RUBY, "-rswiftpoll", "-e", "print SwiftPoll.library_version"], &:read)
nio_version = IO.popen([RUBY, "-e", "require 'nio'; print NIO::VERSION"], err: File::NULL, &:read)
fiddle_version = IO.popen([RUBY, "-rfiddle", "-e", "print Fiddle::VERSION"], &:read)
load = File.read("/proc/loadavg").split.first(3).join(" ") rescue "?"
command = opts[:command] || "ruby bench/ruby/run.rb #{ARGV.join(' ')}"
doc = <<~MD
  # Ruby benchmarks

  Produced by `#{command}` (`bench/ruby/run.rb --rounds #{opts[:rounds]}#{' --quick' if opts[:scale] < 1}`).
  Median of #{opts[:rounds]} interleaved rounds per implementation, each measurement a
  process of its own; ratios are ratios of the medians (higher is better).  Rates
  are per second of process CPU time (user + system): the machine is shared
  (load average #{load} at the end of the run).

  Machine: #{RbConfig::CONFIG['host_cpu']}, #{Etc.nprocessors} cores, ruby #{RUBY_VERSION} (fiddle #{fiddle_version}),
  nio4r #{nio_version} (Debian ruby-nio4r, libev), libswiftpoll #{lib_version}; default backend epoll.

  #{table}
  Workloads (bench/ruby/workloads.rb; the same system calls for everyone):
  - **ring**: one byte hops over 64 pipes; one event per blocking wait.
  - **burst**: 1,024 pipes that stay readable (level-triggered); every wait
    (timeout 0) returns all of them; the block counts readable monitors.
  - **ring-idle**: the ring with 1,000 more registered pipes that never become
    ready: IO.select passes all 1,064 descriptors on every call, a poller
    keeps them registered.
  - **burst-poll**: the burst with both selectors over poll(2)
    (`NIO::Selector.new(:poll)`, `Poll.new(backend: :poll)`).

  ## Where the time goes

  Per call, thread CPU time, best of #{cost_rounds} rounds of 50,000 calls
  (one pipe readable, level-triggered):

  #{cost_table}
MD
findings = File.join(HERE, "FINDINGS.md")
doc << "\n" << File.read(findings) if File.exist?(findings)
File.write(opts[:out], doc)
warn "wrote #{opts[:out]}"
