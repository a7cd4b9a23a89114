# frozen_string_literal: true

require "fiddle"

module SwiftPoll
  # Loading of libswiftpoll and the Fiddle functions of its C ABI.
  #
  # Lookup order, as in the Python package (the first that loads wins):
  #   1. the path in SWIFTPOLL_LIBRARY (when set, nothing else is tried);
  #   2. lib/swiftpoll/libswiftpoll.so inside this gem (what `gem build` bundles);
  #   3. the system loader path: libswiftpoll.so.0, then libswiftpoll.so.
  # The library's swiftpoll_abi_version() must equal ABI_VERSION.
  #
  # Calling conventions (see docs/BINDINGS.md, "Ruby"):
  #   - every call that cannot block is made WITH the GVL held (need_gvl: true):
  #     cheaper than releasing it, and no other Ruby thread can run meanwhile, so
  #     such a call never races with close;
  #   - pointers are passed and returned as Integers (TYPE_UINTPTR_T), which
  #     spares Fiddle a Fiddle::Pointer conversion per argument;
  #   - a wait that may block goes through Ruby's own rb_thread_call_without_gvl
  #     with RUBY_UBF_IO, exactly like IO.select: the GVL is released and Ruby's
  #     unblocking function (a SIGVTALRM to the waiting thread, repeated until it
  #     leaves) turns a signal trap, Thread#raise/kill or Thread#wakeup into
  #     -EINTR, after which Ruby runs the interrupt and we retry.
  module Native
    ABI_VERSION = 1
    EVENT_SIZE = 16

    V = Fiddle::TYPE_UINTPTR_T
    I = Fiddle::TYPE_INT
    U32 = -Fiddle::TYPE_INT # unsigned int
    U64 = -Fiddle::TYPE_INT64_T
    I64 = Fiddle::TYPE_INT64_T
    SZ = Fiddle::TYPE_SIZE_T
    VOID = Fiddle::TYPE_VOID

    BUNDLED = File.expand_path("libswiftpoll.so", __dir__)

    class << self
      attr_reader :path, :origin, :handle

      # [[origin, path], ...] in lookup order.
      # [[origin, path], ...] in lookup order.
      def candidates(env = ENV)
        explicit = env["SWIFTPOLL_LIBRARY"]
        return [["SWIFTPOLL_LIBRARY", explicit]] if explicit && !explicit.empty?

        [["bundled in the gem", BUNDLED],
         ["system loader path", "libswiftpoll.so.0"],
         ["system loader path", "libswiftpoll.so"]]
      end

      def load_library(env = ENV)
        tried = []
        candidates(env).each do |origin, path|
          if origin == "bundled in the gem" && !File.exist?(path)
            tried << "#{path} (#{origin}): not there"
            next
          end
          begin
            return [Fiddle.dlopen(path), path, origin]
          rescue Fiddle::DLError => e
            tried << "#{path} (#{origin}): #{e.message}"
          end
        end
        raise LoadError, "swiftpoll: cannot load libswiftpoll; tried #{tried.join('; ')}. " \
                         "Set SWIFTPOLL_LIBRARY to the library's path, or install it (make install)."
      end

      def fn(name, args, ret, need_gvl: true)
        Fiddle::Function.new(@handle[name], args, ret, need_gvl: need_gvl, name: name)
      end

      def optional_fn(name, args, ret)
        fn(name, args, ret)
      rescue Fiddle::DLError
        nil
      end

      def setup!
        @handle, @path, @origin = load_library
        begin
          abi = fn("swiftpoll_abi_version", [], U32).call
        rescue Fiddle::DLError => e
          raise LoadError, "swiftpoll: #{@path} is not a libswiftpoll: #{e.message}"
        end
        if abi != ABI_VERSION
          raise LoadError, "swiftpoll: #{@path} has C ABI version #{abi}, this gem needs version #{ABI_VERSION}"
        end

        # the backend ABI (library 0.2): absent from a 0.1 library
        @has_backends = !optional_fn("swiftpoll_poll_new_backend", [V, I], I).nil?
        nogvl = Fiddle::Handle::DEFAULT["rb_thread_call_without_gvl"] rescue nil
        @wait_mode = nogvl ? :ubf : :sliced
        @ubf = !nogvl.nil?
        @nogvl_addr = nogvl
      rescue Fiddle::DLError => e
        raise LoadError, "swiftpoll: #{@path} is not a usable libswiftpoll: #{e.message}"
      end

      def backends?
        @has_backends
      end

      # :ubf (rb_thread_call_without_gvl + RUBY_UBF_IO) or :sliced (Fiddle's own
      # GVL-free call, in slices of at most SLICE_NS, for a Ruby without the
      # symbol); tests switch it with wait_mode=.
      attr_reader :wait_mode, :nogvl_addr, :ubf

      def wait_mode=(mode)
        raise ArgumentError, "wait mode :ubf needs rb_thread_call_without_gvl" if mode == :ubf && !@nogvl_addr
        raise ArgumentError, "unknown wait mode #{mode.inspect}" unless %i[ubf sliced].include?(mode)

        @wait_mode = mode
        @ubf = mode == :ubf
      end
    end

    setup!

    begin
      ABI = fn("swiftpoll_abi_version", [], U32)
      VERSION_FN = fn("swiftpoll_version", [], V)
      STRERROR = fn("swiftpoll_strerror", [I], V)
      POLL_NEW = fn("swiftpoll_poll_new", [V], I)
      POLL_NEW_BACKEND = optional_fn("swiftpoll_poll_new_backend", [V, I], I)
      POLL_BACKEND = optional_fn("swiftpoll_poll_backend", [V], I)
      BACKEND_NAME = optional_fn("swiftpoll_backend_name", [I], V)
      POLL_FREE = fn("swiftpoll_poll_free", [V], VOID)
      POLL_FD = fn("swiftpoll_poll_fd", [V], I)
      POLL_REGISTRY = fn("swiftpoll_poll_registry", [V], V)
      # with the GVL held: for a timeout of 0 only (it cannot block)
      WAIT_ARGS = fn("swiftpoll_poll_wait_args", [V], I)
      WAIT_ARGS_ADDR = handle["swiftpoll_poll_wait_args"]
      # Fiddle's own GVL-free call (no unblocking function): the :sliced mode
      WAIT_ARGS_NOGVL = fn("swiftpoll_poll_wait_args", [V], I, need_gvl: false)
      # rb_thread_call_without_gvl(func, data1, ubf, data2), called with the GVL
      NOGVL = nogvl_addr && Fiddle::Function.new(nogvl_addr, [V, V, Fiddle::TYPE_INTPTR_T, V], V,
                                                 need_gvl: true, name: "rb_thread_call_without_gvl")
      RUBY_UBF_IO = -1
      REGISTER = fn("swiftpoll_registry_register", [V, I, U64, U32], I)
      REREGISTER = fn("swiftpoll_registry_reregister", [V, I, U64, U32], I)
      DEREGISTER = fn("swiftpoll_registry_deregister", [V, I], I)
      TRY_CLONE = fn("swiftpoll_registry_try_clone", [V, V], I)
      REGISTRY_FREE = fn("swiftpoll_registry_free", [V], VOID)
      WAKER_NEW = fn("swiftpoll_waker_new", [V, U64, V], I)
      WAKER_WAKE = fn("swiftpoll_waker_wake", [V], I)
      WAKER_FREE = fn("swiftpoll_waker_free", [V], VOID)
    rescue Fiddle::DLError => e # a symbol of ABI 1 is missing
      raise LoadError, "swiftpoll: #{path} is not a usable libswiftpoll: #{e.message}"
    end

    # The most a :sliced wait blocks in one call, so that Ruby gets to run trap
    # handlers and Thread#raise in between (there is no unblocking function).
    SLICE_NS = 50_000_000

    BACKEND_IDS = { default: 0, epoll: 1, poll: 2, kqueue: 3 }.freeze
    BACKEND_SYMS = BACKEND_IDS.invert.freeze

    EINTR = Errno::EINTR::Errno
    EBUSY = Errno::EBUSY::Errno
    EXC_INIT = Exception.instance_method(:initialize)

    STRERRORS = {} # errno -> the library's text (static strings, cached)

    module_function

    def strerror(err)
      err = -err if err.negative?
      STRERRORS[err] ||= begin
        cstring(STRERROR.call(err)).force_encoding(Encoding::UTF_8).freeze
      end
    end

    # The Errno::* exception for a negative errno, with the library's text:
    # "File exists @ swiftpoll_registry_register - fd 5".
    def error(rc, func, detail = nil)
      err = -rc
      exc = SystemCallError.new(nil, err) # the Errno subclass, errno set
      msg = +"#{strerror(err)} @ #{func}"
      msg << " - " << detail if detail
      EXC_INIT.bind_call(exc, msg)
      exc
    end

    # A C int returned through a void* (rb_thread_call_without_gvl): the low 32 bits.
    def int_of_ptr(v)
      v &= 0xffff_ffff
      v >= 0x8000_0000 ? v - 0x1_0000_0000 : v
    end

    def cstring(addr)
      addr.zero? ? nil : Fiddle::Pointer.new(addr).to_s
    end
  end
end
