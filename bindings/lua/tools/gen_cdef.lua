#!/usr/bin/env luajit
-- gen_cdef.lua -- generates bindings/lua/swiftpoll/cdef.lua from include/swiftpoll.h.
--
--   luajit bindings/lua/tools/gen_cdef.lua include/swiftpoll.h > bindings/lua/swiftpoll/cdef.lua
--   (make lua-cdef does exactly this; the Lua suite fails when the committed file
--   differs from what this script makes of the header, so the two cannot drift)
--
-- The header is plain enough to be read without a C preprocessor: comments are
-- removed, #if conditions are evaluated over a fixed set of macros (we are a C
-- compiler that is not C++ and has GNU attributes), #define NAME <number|string>
-- becomes a Lua constant, the SWIFTPOLL_API attribute macro is dropped, and the
-- C99 static-assertion typedefs are left out (LuaJIT's parser has no offsetof;
-- swiftpoll/init.lua checks the same layout with ffi.offsetof at load time).
-- Anything this script does not understand is an error, never a silent skip.

local path = arg[1] or "include/swiftpoll.h"
local f = assert(io.open(path, "rb"))
local src = f:read("*a")
f:close()

local function die(msg)
  io.stderr:write("gen_cdef.lua: ", path, ": ", msg, "\n")
  os.exit(1)
end

-- comments out (a comment never holds a string delimiter in this header)
src = src:gsub("/%*.-%*/", " "):gsub("//[^\n]*", "")
-- line continuations
src = src:gsub("\\\n", " ")

-- What `defined(X)` is for us; an identifier not listed here in a condition is an error.
local defined = { __GNUC__ = true, __clang__ = false, __cplusplus = false, SWIFTPOLL_H = false }
local values = { __cplusplus = "0" }

local function eval_condition(expr)
  local e = expr:gsub("defined%s*%(%s*([%w_]+)%s*%)", function(name)
    if defined[name] == nil then die("unknown macro in #if: " .. name) end
    return defined[name] and " true " or " false "
  end)
  e = e:gsub("(%d+)[uUlL]+", "%1")
  e = e:gsub("&&", " and "):gsub("||", " or "):gsub("!=", "~="):gsub("!", " not ")
  e = e:gsub("[%a_][%w_]*", function(id)
    if id == "true" or id == "false" or id == "and" or id == "or" or id == "not" then return id end
    if values[id] then return values[id] end
    die("unknown identifier in #if: " .. id)
  end)
  local fn, err = loadstring("return " .. e)
  if not fn then die("cannot evaluate #if " .. expr .. ": " .. err) end
  return fn() and true or false
end

local constants = {}   -- { {name, lua literal}, ... } in header order
local dropped_macros = {}
local decl = {}
local stack = {}       -- { active = bool, taken = bool } per open #if
local function active()
  for i = 1, #stack do if not stack[i].active then return false end end
  return true
end

local lineno = 0
for line in (src .. "\n"):gmatch("([^\n]*)\n") do
  lineno = lineno + 1
  local directive, rest = line:match("^%s*#%s*(%a+)%s*(.-)%s*$")
  if directive then
    if directive == "if" or directive == "ifdef" or directive == "ifndef" then
      local parent = active()
      local cond
      if directive == "if" then cond = eval_condition(rest)
      else
        if defined[rest] == nil then die("unknown macro in #" .. directive .. ": " .. rest) end
        cond = defined[rest]
        if directive == "ifndef" then cond = not cond end
      end
      stack[#stack + 1] = { active = parent and cond, taken = cond, parent = parent }
    elseif directive == "else" then
      local top = stack[#stack] or die("#else without #if")
      top.active = top.parent and not top.taken
      top.taken = true
    elseif directive == "endif" then
      if #stack == 0 then die("#endif without #if") end
      stack[#stack] = nil
    elseif directive == "include" then
      if active() and rest ~= "<stddef.h>" and rest ~= "<stdint.h>" then
        die("unexpected #include " .. rest .. " (LuaJIT knows only the types of stddef.h/stdint.h)")
      end
    elseif directive == "define" then
      if active() then
        local name, value = rest:match("^([%a_][%w_]*)%s*(.-)$")
        if not name then die("cannot read #define " .. rest) end
        if name == "SWIFTPOLL_H" then
          defined[name] = true
        elseif value:match("^0[xX]%x+[uUlL]*$") or value:match("^%d+[uUlL]*$") then
          constants[#constants + 1] = { name, value:gsub("[uUlL]+$", "") }
        elseif value:match('^"[^"\\]*"$') then
          constants[#constants + 1] = { name, value }
        elseif name:match("_API$") then
          dropped_macros[name] = true -- a visibility attribute: nothing for the FFI
        else
          die("#define " .. name .. " is neither a number, a string nor an *_API attribute")
        end
      end
    else
      die("unexpected #" .. directive .. " on line " .. lineno)
    end
  elseif active() then
    decl[#decl + 1] = line
  end
end
if #stack ~= 0 then die("unterminated #if") end

local text = table.concat(decl, "\n")
for name in pairs(dropped_macros) do
  text = text:gsub("%f[%w_]" .. name .. "%f[^%w_]", " ")
end
text = text:gsub("%s+", " ")
-- the C99 static assertions (typedef char name[cond ? 1 : -1];)
local asserts = 0
text = text:gsub("typedef char [%w_]+%s*%b[]%s*;", function() asserts = asserts + 1; return "" end)
if asserts == 0 then die("no layout assertions found: has the event struct changed? check init.lua") end
text = text:gsub("%s+", " ")

-- one declaration per line (split at ';' outside braces)
local out, depth, cur = {}, 0, {}
for ch in text:gmatch(".") do
  cur[#cur + 1] = ch
  if ch == "{" then depth = depth + 1 elseif ch == "}" then depth = depth - 1 end
  if ch == ";" and depth == 0 then
    local s = table.concat(cur):gsub("^%s+", ""):gsub("%s+$", ""):gsub("%s*([%(%)%*,;])%s*", "%1")
    s = s:gsub(",", ", "):gsub("%*(%a)", "*%1"):gsub("(%w)%*", "%1 *"):gsub("%){", ") {"):gsub(";(%S)", "; %1")
    out[#out + 1] = s
    cur = {}
  end
end
if table.concat(cur):match("%S") then die("trailing text without ';': " .. table.concat(cur)) end

local functions = {}
for _, d in ipairs(out) do
  if not d:match("^typedef") then
    local name = d:match("([%a_][%w_]*)%(")
    if not name or not name:match("^swiftpoll_") then die("not a swiftpoll_ function: " .. d) end
    functions[#functions + 1] = name
  end
end

local w = {}
w[#w + 1] = "-- GENERATED by bindings/lua/tools/gen_cdef.lua from include/swiftpoll.h: do not edit."
w[#w + 1] = "-- Regenerate with `make lua-cdef`; the Lua suite fails when this file and the header differ."
w[#w + 1] = "return {"
w[#w + 1] = "  cdef = [["
for _, d in ipairs(out) do w[#w + 1] = d end
w[#w + 1] = "]],"
w[#w + 1] = "  -- every #define of the header that is a number or a string, in header order"
w[#w + 1] = "  constants = {"
for _, c in ipairs(constants) do w[#w + 1] = ("    %s = %s,"):format(c[1], c[2]) end
w[#w + 1] = "  },"
w[#w + 1] = "  -- every function the header declares, in header order"
w[#w + 1] = "  functions = {"
for _, n in ipairs(functions) do w[#w + 1] = ('    "%s",'):format(n) end
w[#w + 1] = "  },"
w[#w + 1] = "}"
io.write(table.concat(w, "\n"), "\n")
