-- Runs an Argo CD resource health check as Argo CD does: the object in the global `obj`, only
-- the base, string, table and math libraries in reach, and the returned table as the verdict.
--   lua5.1 run_health_check.lua <check.lua> <object.lua>
-- Prints the status on the first line and the message on the second.
local check_path, object_path = arg[1], arg[2]
local object = assert(loadfile(object_path))()
local check = assert(loadfile(check_path))

local env = {
  obj = object,
  assert = assert, error = error, ipairs = ipairs, next = next, pairs = pairs, pcall = pcall,
  select = select, tonumber = tonumber, tostring = tostring, type = type, unpack = unpack,
  string = string, table = table, math = math,
}
setfenv(check, env)
local hs = check()

local known = {Healthy = true, Progressing = true, Degraded = true, Suspended = true,
               Missing = true, Unknown = true}
if type(hs) ~= "table" then error("the check returned " .. type(hs) .. ", not a table") end
if not known[hs.status] then error("unknown health status " .. tostring(hs.status)) end
if type(hs.message) ~= "string" or hs.message == "" then error("the check returned no message") end
io.write(hs.status, "\n", hs.message, "\n")
