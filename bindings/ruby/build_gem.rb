# frozen_string_literal: true

# Builds the swiftpoll gem with the library and the license inside:
#   ruby build_gem.rb --lib build/lib/libswiftpoll.so.X.Y.Z --out DIR [--license FILE]
# The gem's sources are copied to a scratch folder first (the source tree is
# left as it is); LICENSE defaults to the repository's, when it has one.
# Prints the path of the .gem.
require "fileutils"
require "optparse"
require "tmpdir"

here = __dir__
root = File.expand_path("../..", here)
opts = { license: File.join(root, "LICENSE") }
OptionParser.new do |o|
  o.on("--lib PATH") { |v| opts[:lib] = v }
  o.on("--out DIR") { |v| opts[:out] = v }
  o.on("--license FILE") { |v| opts[:license] = v }
end.parse!
abort "build_gem.rb: --lib and --out are required" unless opts[:lib] && opts[:out]
abort "build_gem.rb: #{opts[:lib]} does not exist" unless File.file?(opts[:lib])

Dir.mktmpdir("swiftpoll-gem") do |tmp|
  src = File.join(tmp, "swiftpoll")
  FileUtils.mkdir_p(src)
  FileUtils.cp_r(File.join(here, "lib"), src)
  FileUtils.cp(File.join(here, "README.md"), src)
  FileUtils.cp(File.join(here, "swiftpoll.gemspec"), src)
  FileUtils.cp(opts[:lib], File.join(src, "lib", "swiftpoll", "libswiftpoll.so"))
  FileUtils.chmod(0o755, File.join(src, "lib", "swiftpoll", "libswiftpoll.so"))
  FileUtils.cp(opts[:license], File.join(src, "LICENSE")) if File.file?(opts[:license])
  spec = Gem::Specification.load(File.join(src, "swiftpoll.gemspec"))
  log = IO.popen(["gem", "build", "swiftpoll.gemspec"], chdir: src, err: %i[child out], &:read)
  abort "build_gem.rb: gem build failed:\n#{log}" unless $?.success?
  file = spec.file_name
  FileUtils.mkdir_p(opts[:out])
  dest = File.join(File.expand_path(opts[:out]), file)
  FileUtils.mv(File.join(src, file), dest)
  puts dest
end
